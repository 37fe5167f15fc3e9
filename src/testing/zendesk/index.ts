export { FakeZendesk, type FakeZendeskAgent, type FakeZendeskOptions } from "./fake-zendesk.js";
