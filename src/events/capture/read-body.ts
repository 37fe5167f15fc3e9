import type { Readable } from "node:stream";
import { createGunzip, type Gunzip, gunzip } from "node:zlib";
import { CaptureRejection } from "../event.js";

/** A request body as read: at most the route's limit, gzip already inflated when it was gzip on the wire. */
export interface RawBody {
  data: Buffer;
  /** True when the body was gzip (by `Content-Encoding` or its magic bytes) and `data` is what it inflated to. */
  inflated: boolean;
  /** Bytes as sent (compressed). */
  wireBytes: number;
}

export interface ReadBodyOptions {
  /** Largest body accepted, in bytes, both as sent and after inflating. */
  limit: number;
  /** The client said `Content-Encoding: gzip`. Without it, a body that starts with gzip's magic bytes is inflated too. */
  gzip: boolean;
  /** Called with each chunk's size as it arrives (for the bytes metric). */
  onBytes?: (n: number) => void;
}

/** The client went away before its body arrived: nothing to answer. */
export class ClientGoneError extends Error {
  constructor() {
    super("the client closed the connection before sending its whole body");
  }
}

const GZIP_MAGIC = [0x1f, 0x8b, 0x08];

/** True when `data` starts with gzip's magic bytes (1f 8b 08). */
export function isGzip(data: Buffer): boolean {
  return (
    data.length >= 3 && data[0] === GZIP_MAGIC[0] && data[1] === GZIP_MAGIC[1] && data[2] === GZIP_MAGIC[2]
  );
}

/** A 413 that says which limit was passed. */
export function tooLarge(limit: number, what: string): CaptureRejection {
  return new CaptureRejection(
    413,
    "too_large",
    `${what} is larger than this route's limit of ${formatBytes(limit)}; send fewer events per request`,
  );
}

export function formatBytes(n: number): string {
  if (n >= 1_000_000 && n % 1_000_000 === 0) return `${n / 1_000_000} MB`;
  if (n >= 1024 * 1024 && n % (1024 * 1024) === 0) return `${n / (1024 * 1024)} MiB`;
  return `${n} bytes`;
}

/**
 * Reads a request body, never holding more than `limit` bytes: a plain body is refused (413) once it passes the limit;
 * a gzip body is inflated while it arrives and refused as soon as its output passes the limit, so a gzip bomb never
 * inflates further. Corrupt or truncated gzip is a 400. On refusal the stream is left unread (the caller decides to
 * drain it or close the connection); nothing else is buffered.
 *
 * @example
 * const body = await readBody(req, { limit: 2_000_000, gzip: req.headers["content-encoding"] === "gzip" });
 */
export function readBody(stream: Readable, options: ReadBodyOptions): Promise<RawBody> {
  const { limit } = options;
  return new Promise<RawBody>((resolve, reject) => {
    let settled = false;
    let wireBytes = 0;
    let mode: "undecided" | "plain" | "gzip" = options.gzip ? "gzip" : "undecided";
    const chunks: Buffer[] = [];
    let size = 0;
    let gunzip: Gunzip | undefined;

    const detach = () => {
      stream.off("data", onData);
      stream.off("end", onEnd);
      stream.off("error", onGone);
      stream.off("close", onClose);
    };
    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      detach();
      if (gunzip) {
        gunzip.removeAllListeners("data");
        gunzip.on("error", () => {}); // errors after we gave up are expected (destroyed mid-stream)
        gunzip.destroy();
      }
      reject(error);
    };
    const succeed = (data: Buffer) => {
      if (settled) return;
      settled = true;
      detach();
      resolve({ data, inflated: mode === "gzip", wireBytes });
    };

    const startGunzip = () => {
      const g = createGunzip({ chunkSize: 64 * 1024 });
      g.on("data", (out: Buffer) => {
        size += out.length;
        if (size > limit) fail(tooLarge(limit, "the inflated gzip body"));
        else chunks.push(out);
      });
      g.on("error", (e: Error) => fail(invalidGzip(e)));
      g.on("end", () => succeed(Buffer.concat(chunks, size)));
      g.on("drain", () => {
        if (!settled) stream.resume();
      });
      gunzip = g;
    };
    if (mode === "gzip") startGunzip();

    // Chunks held until the first 3 bytes decide between plain and gzip.
    let head: Buffer[] = [];
    let headSize = 0;

    const feed = (chunk: Buffer) => {
      if (mode === "gzip") {
        if (!gunzip!.write(chunk)) stream.pause();
        return;
      }
      size += chunk.length;
      if (size > limit) return fail(tooLarge(limit, "the request body"));
      chunks.push(chunk);
    };

    function onData(chunk: Buffer) {
      wireBytes += chunk.length;
      options.onBytes?.(chunk.length);
      if (wireBytes > limit) return fail(tooLarge(limit, "the request body"));
      if (mode !== "undecided") return feed(chunk);
      head.push(chunk);
      headSize += chunk.length;
      if (headSize < GZIP_MAGIC.length) return;
      decide();
    }
    function decide() {
      const first = head.length === 1 ? head[0]! : Buffer.concat(head, headSize);
      mode = isGzip(first) ? "gzip" : "plain";
      if (mode === "gzip") startGunzip();
      head = [];
      feed(first);
    }
    function onEnd() {
      if (settled) return;
      if (mode === "undecided") {
        if (headSize === 0) return succeed(Buffer.alloc(0));
        decide();
        if (settled) return;
      }
      if (mode === "gzip") {
        if (wireBytes === 0) {
          mode = "plain"; // "Content-Encoding: gzip" on an empty body: nothing to inflate
          gunzip!.destroy();
          return succeed(Buffer.alloc(0));
        }
        gunzip!.end();
      } else succeed(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    }
    function onGone() {
      fail(new ClientGoneError());
    }
    function onClose() {
      // "close" before "end": the client aborted mid-body
      if (!settled && !stream.readableEnded) fail(new ClientGoneError());
    }

    stream.on("data", onData);
    stream.on("end", onEnd);
    stream.on("error", onGone);
    stream.on("close", onClose);
    stream.resume(); // a stream paused before (by its owner) would never deliver
  });
}

function invalidGzip(e: Error): CaptureRejection {
  const why = e.message === "unexpected end of file" ? "it ends early (truncated)" : e.message;
  return new CaptureRejection(400, "invalid_encoding", `the body is not valid gzip data: ${why}`);
}

/** Inflates a gzip buffer that arrived inside another encoding (base64, a form field), with the same limit. */
export function inflateLimited(data: Buffer, limit: number): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    gunzip(data, { maxOutputLength: limit }, (error, out) => {
      if (!error) return resolve(out);
      if ((error as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") {
        reject(tooLarge(limit, "the inflated gzip payload"));
      } else reject(invalidGzip(error));
    });
  });
}
