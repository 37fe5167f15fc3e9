export { filesystem, filesystemCapabilities } from "./filesystem-destination.js";
export { DEFAULT_LAYOUT, type Layout, parseLayout } from "./layout.js";
export type { FileFormat, FilesystemOptions } from "./options.js";
