/**
 * Capture: PostHog's capture API (routes, encodings, token and event rules) from an HTTP request to validated
 * `CapturedEvent`s handed to the event log.
 */
export { type Compression, compressionHint, decodePayload, type PayloadSource } from "./decode-payload.js";
export { type CaptureWarning, type RequestContext, toCapturedEvent } from "./event-rules.js";
export {
  BATCH_BODY_LIMIT,
  type CaptureDeps,
  type CaptureInput,
  type CaptureRoute,
  captureRequest,
  captureRoutes,
  EVENT_BODY_LIMIT,
} from "./handler.js";
export { decompressLz64, Lz64Error } from "./lz64.js";
export {
  parseJson,
  querySentAt,
  type RawEvent,
  type RequestShape,
  requestShape,
  requestToken,
  validateToken,
} from "./payload.js";
export { ClientGoneError, type RawBody, readBody } from "./read-body.js";
export { CaptureServer, type CaptureServerAddress, type CaptureServerOptions } from "./server.js";
export { parseClientTime, resolveTimestamp } from "./timestamps.js";
export { normalizeUuid, uuidv7 } from "./uuid.js";
