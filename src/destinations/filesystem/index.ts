export { deltaCapabilities, filesystem, filesystemCapabilities } from "./filesystem-destination.js";
export { DEFAULT_LAYOUT, type Layout, parseLayout } from "./layout.js";
export type { DeltaOptions, FileFormat, FilesystemOptions } from "./options.js";
