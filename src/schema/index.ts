export * from "./contract.js";
export * from "./infer.js";
export * from "./naming.js";
export * from "./schema.js";
export * from "./types.js";
