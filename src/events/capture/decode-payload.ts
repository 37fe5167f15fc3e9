import { isUtf8 } from "node:buffer";
import { CaptureRejection } from "../event.js";
import { decompressLz64, Lz64Error } from "./lz64.js";
import { inflateLimited, isGzip, type RawBody, tooLarge } from "./read-body.js";

/** The compressions PostHog's clients name (`compression=` in the query or a form field, or `Content-Encoding`). */
export type Compression = "gzip" | "lz64" | "base64";

/**
 * The compression a client named, or undefined for none or a name PostHog does not know (which, as in PostHog, is not
 * an error: the body is read as it is).
 *
 * @example
 * compressionHint("gzip-js"); // "gzip"
 * compressionHint("brotli");  // undefined
 */
export function compressionHint(value: string | null | undefined): Compression | undefined {
  switch (value?.trim().toLowerCase()) {
    case "gzip":
    case "gzip-js":
    case "x-gzip":
      return "gzip";
    case "lz64":
    case "lz-string":
      return "lz64";
    case "base64":
    case "b64":
      return "base64";
    default:
      return undefined;
  }
}

/** Where a payload came from and what the client said about it. */
export interface PayloadSource {
  body: RawBody;
  /** `?data=` (legacy GET requests); takes the place of the body when not empty. */
  queryData?: string | null;
  /** `?compression=`. */
  queryCompression?: string | null;
  contentEncoding?: string;
  /** A legacy route (`/e`, `/capture`, `/track`, `/engage`): a payload still base64 after decoding is decoded again. */
  legacy: boolean;
  limit: number;
}

/**
 * Turns a request's payload into JSON text, undoing what PostHog's clients do to it: a form body `data=...` (with its
 * own `compression` field), base64, gzip (by hint or by magic bytes), lz-string base64 (`lz64`), and on legacy routes
 * a second base64 layer. Every step keeps the route's limit (413) and refuses what it cannot read with a 400 that says
 * which layer was wrong.
 *
 * @example
 * await decodePayload({ body, queryCompression: "lz64", legacy: true, limit: 2_000_000 }); // '[{"event":...}]'
 */
export async function decodePayload(src: PayloadSource): Promise<string> {
  const { limit } = src;
  let payload: Buffer | string = src.body.data;
  let formCompression: string | undefined;
  if (src.queryData) {
    payload = restorePlus(src.queryData);
  } else if (looksLikeForm(payload)) {
    const form = new URLSearchParams(utf8(payload));
    const data = form.get("data");
    if (!data)
      throw bad("empty_payload", "the form body has no `data` field (expected data=<base64 or lz64 JSON>)");
    payload = restorePlus(data);
    formCompression = form.get("compression") ?? undefined;
  }
  if (payload.length === 0) {
    throw bad("empty_payload", "the request has no payload (send events as the body, or as ?data= on GET)");
  }

  const hint =
    compressionHint(src.queryCompression) ??
    compressionHint(formCompression) ??
    compressionHint(src.contentEncoding);
  let text: string;
  if (hint === "lz64") {
    text = lz64(typeof payload === "string" ? payload : payload.toString("latin1"), limit);
  } else {
    let bytes = typeof payload === "string" ? Buffer.from(payload, "utf8") : payload;
    const decoded = decodeBase64(bytes);
    if (decoded) bytes = decoded;
    if (isGzip(bytes) || (hint === "gzip" && !src.body.inflated)) {
      if (!isGzip(bytes)) {
        throw bad("invalid_encoding", "compression=gzip was given but the payload is not gzip data");
      }
      bytes = await inflateLimited(bytes, limit);
    }
    text = utf8(bytes);
  }
  if (src.legacy) {
    // PostHog's legacy routes: "payload still base64 after decoding" is decoded once more
    const again = decodeBase64(text);
    if (again && isUtf8(again)) text = again.toString("utf8");
  }
  return text;
}

function lz64(payload: string, limit: number): string {
  let text: string;
  try {
    text = decompressLz64(payload, limit);
  } catch (e) {
    if (e instanceof Lz64Error) {
      if (e.tooLarge) throw tooLarge(limit, "the decompressed lz64 payload");
      throw bad(
        "invalid_encoding",
        `compression=lz64 was given but the payload is not lz-string data: ${e.message}`,
      );
    }
    throw e;
  }
  if (text.length * 3 > limit && Buffer.byteLength(text, "utf8") > limit) {
    throw tooLarge(limit, "the decompressed lz64 payload");
  }
  return text;
}

function utf8(bytes: Buffer): string {
  if (!isUtf8(bytes)) {
    throw bad(
      "invalid_encoding",
      "the payload is not valid UTF-8 (nor gzip, base64 or lz64 that decodes to it)",
    );
  }
  return bytes.toString("utf8");
}

// Form fields decode "+" to a space; a base64 value never holds a space, so spaces there were "+".
function restorePlus(value: string): string {
  return value.includes(" ") && isBase64Text(value, true) ? value.replaceAll(" ", "+") : value;
}

const FORM_KEYS = ["data=", "_=", "ip=", "compression=", "ver="];

/** PostHog's test: a urlencoded form has `data=`, `_=`, `ip=` or `compression=` at its start or after an `&`. */
export function looksLikeForm(payload: Buffer | string): boolean {
  const head = (typeof payload === "string" ? payload : payload.toString("latin1", 0, 256))
    .slice(0, 256)
    .trimStart();
  if (head.startsWith("{") || head.startsWith("[")) return false;
  return FORM_KEYS.some((k) => head.startsWith(k) || head.includes(`&${k}`));
}

/**
 * The bytes a base64 payload (standard or URL-safe alphabet, padded to a multiple of 4) stands for, or undefined when
 * it is not base64. JSON never is (it starts with `{` or `[`), so this costs one character on the usual path.
 */
export function decodeBase64(payload: Buffer | string): Buffer | undefined {
  const text = typeof payload === "string" ? payload : undefined;
  const len = payload.length;
  if (len === 0 || len % 4 !== 0) return undefined;
  const first = text !== undefined ? text.charCodeAt(0) : (payload as Buffer)[0]!;
  if (!isBase64Char(first)) return undefined;
  const s = text ?? (payload as Buffer).toString("latin1");
  if (!isBase64Text(s, false)) return undefined;
  return Buffer.from(s, "base64");
}

function isBase64Text(s: string, allowSpace: boolean): boolean {
  let end = s.length;
  while (end > 0 && s.charCodeAt(end - 1) === 61 /* = */) end--;
  if (s.length - end > 2) return false;
  for (let i = 0; i < end; i++) {
    const c = s.charCodeAt(i);
    if (!isBase64Char(c) && !(allowSpace && c === 32)) return false;
  }
  return true;
}

function isBase64Char(c: number): boolean {
  return (
    (c >= 65 && c <= 90) || // A-Z
    (c >= 97 && c <= 122) || // a-z
    (c >= 48 && c <= 57) || // 0-9
    c === 43 || // +
    c === 47 || // /
    c === 45 || // - (URL-safe)
    c === 95 // _ (URL-safe)
  );
}

function bad(reason: string, message: string): CaptureRejection {
  return new CaptureRejection(400, reason, message);
}
