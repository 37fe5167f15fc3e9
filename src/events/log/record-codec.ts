import { crc32 } from "node:zlib";
import type { CapturedEvent } from "../event.js";

/** Bytes before a record's payload: its length and the CRC-32 of the payload, both u32 little endian. */
export const RECORD_HEADER_BYTES = 8;

/** Tokens already found to fit a record header (a server has a handful). */
const checkedTokens = new Set<string>();

/**
 * One log record: `[u32 length][u32 crc32(payload)][payload]`. The payload is `[u8 n][the token: n ASCII bytes]`
 * followed by the event's JSON text (uuid first): a reader finds a record's project and uuid without parsing it. A
 * record whose length runs past the end of the file or whose checksum does not match is a torn write: the log ends
 * before it.
 *
 * @example
 * const bytes = encodeRecord(event);
 * decodeRecordAt(bytes, 0, bytes.length) // the event
 */
export function encodeRecord(event: CapturedEvent): Buffer {
  const json = JSON.stringify(event);
  const tokenBytes = event.token.length;
  if (!checkedTokens.has(event.token)) {
    if (tokenBytes > 255 || !/^[\x20-\x7e]*$/.test(event.token))
      throw new Error(
        `a token must be at most 255 printable ASCII characters (capture checks 64): ${event.token}`,
      );
    checkedTokens.add(event.token);
  }
  const payloadBytes = 1 + tokenBytes + Buffer.byteLength(json, "utf8");
  const out = Buffer.allocUnsafe(RECORD_HEADER_BYTES + payloadBytes);
  out.writeUInt32LE(payloadBytes, 0);
  out[RECORD_HEADER_BYTES] = tokenBytes;
  out.write(event.token, RECORD_HEADER_BYTES + 1, "latin1");
  out.write(json, RECORD_HEADER_BYTES + 1 + tokenBytes, "utf8");
  out.writeUInt32LE(crc32(out.subarray(RECORD_HEADER_BYTES)), 4);
  return out;
}

/** The token of the intact record at `pos`. */
export function recordTokenAt(buf: Buffer, pos: number): string {
  const n = buf[pos + RECORD_HEADER_BYTES] as number;
  return buf.toString("latin1", pos + RECORD_HEADER_BYTES + 1, pos + RECORD_HEADER_BYTES + 1 + n);
}

/** Where the event's JSON starts in the record at `pos`. */
function jsonStart(buf: Buffer, pos: number): number {
  return pos + RECORD_HEADER_BYTES + 1 + (buf[pos + RECORD_HEADER_BYTES] as number);
}

/** The size of the complete, intact record at `pos` in `buf`, or undefined when it is cut short or corrupt. */
export function recordSizeAt(buf: Buffer, pos: number): number | undefined {
  if (pos + RECORD_HEADER_BYTES > buf.length) return undefined;
  const length = buf.readUInt32LE(pos);
  // Zeros after a crash (a file extended but not written) would pass as an empty record: events are never empty.
  if (length === 0) return undefined;
  const end = pos + RECORD_HEADER_BYTES + length;
  if (end > buf.length) return undefined;
  const payload = buf.subarray(pos + RECORD_HEADER_BYTES, end);
  if (crc32(payload) !== buf.readUInt32LE(pos + 4)) return undefined;
  return RECORD_HEADER_BYTES + length;
}

/** The event of the intact record at `pos` (check it with `recordSizeAt` first). */
export function decodeRecordAt(buf: Buffer, pos: number, size: number): CapturedEvent {
  return JSON.parse(buf.toString("utf8", jsonStart(buf, pos), pos + size)) as CapturedEvent;
}

/** The uuid of the record at `pos`: events are written with `uuid` as their first key (`{"uuid":"...`). */
export function recordUuidAt(buf: Buffer, pos: number, size: number): string {
  const text = buf.toString(
    "utf8",
    pos + RECORD_HEADER_BYTES,
    Math.min(pos + size, pos + RECORD_HEADER_BYTES + 120),
  );
  const start = text.indexOf('"uuid":"');
  return start < 0 ? "" : text.slice(start + 8, text.indexOf('"', start + 8));
}
