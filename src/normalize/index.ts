/**
 * Normalize: extracted items -> relational rows in load files, with an inferred, evolving schema. One entry,
 * `normalizePackage`; `StreamingNormalize` starts workers on a package's files while it is still being extracted,
 * and its results go to `normalizePackage` as `streamed`.
 *
 * - `rows/`: the relational normalizer (flattening, child tables, inference, variants, contracts)
 * - `workers/`: worker threads (a package's files in parallel, and while extracting)
 * - `serial.ts`, `normalize-unit.ts`, `load-file-writer.ts`, `whole-files.ts`: one thread, one file, the output
 */
export { type NormalizeRequest, normalizePackage } from "./normalize-package.js";
export type { NormalizeFilesResult, NormalizeInput } from "./types.js";
export type { WholeFileInput } from "./whole-files.js";
export { StreamingNormalize, type StreamingNormalizeOptions } from "./workers/streaming.js";
