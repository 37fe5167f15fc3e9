import { crc32 } from "node:zlib";
import type { CapturedEvent } from "../event.js";

/** Bytes before a record's payload: its length and the CRC-32 of the payload, both u32 little endian. */
export const RECORD_HEADER_BYTES = 8;

/**
 * One log record: `[u32 length][u32 crc32(payload)][payload]`, the payload being the event's JSON text. A record
 * whose length runs past the end of the file or whose checksum does not match is a torn write: the log ends before it.
 *
 * @example
 * const bytes = encodeRecord(event);
 * decodeRecordAt(bytes, 0) // { event, size: bytes.length }
 */
export function encodeRecord(event: CapturedEvent): Buffer {
  const payload = Buffer.from(JSON.stringify(event), "utf8");
  const out = Buffer.allocUnsafe(RECORD_HEADER_BYTES + payload.length);
  out.writeUInt32LE(payload.length, 0);
  out.writeUInt32LE(crc32(payload), 4);
  payload.copy(out, RECORD_HEADER_BYTES);
  return out;
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
  return JSON.parse(buf.toString("utf8", pos + RECORD_HEADER_BYTES, pos + size)) as CapturedEvent;
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
