/**
 * The Zendesk Support source: `import { zendeskSource } from "ferry/sources/zendesk"`.
 */

export { zendeskPolicy } from "./client.js";
export type { ZendeskOptions } from "./options.js";
export { ZENDESK_RESOURCES, zendeskSource } from "./zendesk-source.js";
