/**
 * Capture's body reading and decoding: the route limit (plain, gzip while inflating, lz64), gzip by header, by
 * `compression=` and by magic bytes, truncated/corrupt gzip, form bodies, base64, GET ?data=, PostHog's second base64
 * layer on legacy routes, and unknown compression names read as plain.
 */
import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { describe, test } from "node:test";
import { createGzip, gzipSync } from "node:zlib";
import LZString from "lz-string";
import { compressionHint, decodePayload, looksLikeForm } from "../../src/events/capture/decode-payload.js";
import { readBody } from "../../src/events/capture/read-body.js";
import { CaptureRejection } from "../../src/events/event.js";

const JSON_TEXT = '[{"event":"$pageview","distinct_id":"u1","properties":{"token":"phc_x","city":"Zürich"}}]';

function stream(...chunks: Buffer[]): Readable {
  return Readable.from(chunks, { objectMode: false });
}

/** Expects a CaptureRejection with this status and reason, returning its message. */
async function rejection(p: Promise<unknown>, status: number, reason: string): Promise<string> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof CaptureRejection, `expected a CaptureRejection, got ${String(e)}`);
    assert.equal(e.status, status, e.message);
    assert.equal(e.reason, reason, e.message);
    return e.message;
  }
  assert.fail(`expected ${status} ${reason}, got a result`);
}

/** readBody + decodePayload, as the handler runs them. */
async function decode(
  body: Buffer | string,
  opts: {
    gzipHeader?: boolean;
    query?: Record<string, string>;
    legacy?: boolean;
    limit?: number;
    encoding?: string;
  } = {},
): Promise<string> {
  const limit = opts.limit ?? 2_000_000;
  const raw = await readBody(stream(Buffer.from(body)), { limit, gzip: opts.gzipHeader ?? false });
  const query = new URLSearchParams(opts.query ?? {});
  return decodePayload({
    body: raw,
    queryData: query.get("data"),
    queryCompression: query.get("compression"),
    contentEncoding: opts.encoding,
    legacy: opts.legacy ?? true,
    limit,
  });
}

describe("readBody", () => {
  test("a plain body is returned as sent, and counted as it arrives", async () => {
    const seen: number[] = [];
    const body = await readBody(stream(Buffer.from("ab"), Buffer.from("cd")), {
      limit: 10,
      gzip: false,
      onBytes: (n) => seen.push(n),
    });
    assert.equal(body.data.toString(), "abcd");
    assert.equal(body.inflated, false);
    assert.equal(body.wireBytes, 4);
    assert.deepEqual(seen, [2, 2]);
  });

  test("a plain body one byte over the limit is a 413; exactly at the limit is read", async () => {
    const at = await readBody(stream(Buffer.alloc(1000, 97)), { limit: 1000, gzip: false });
    assert.equal(at.data.length, 1000);
    const msg = await rejection(
      readBody(stream(Buffer.alloc(1001, 97)), { limit: 1000, gzip: false }),
      413,
      "too_large",
    );
    assert.match(msg, /larger than this route's limit of 1000 bytes/);
  });

  test("gzip is inflated by Content-Encoding and by its magic bytes, even when they arrive one byte at a time", async () => {
    const gz = gzipSync(JSON_TEXT);
    const byHeader = await readBody(stream(gz), { limit: 10_000, gzip: true });
    assert.equal(byHeader.data.toString(), JSON_TEXT);
    assert.equal(byHeader.inflated, true);
    const bytes = [...gz].map((b) => Buffer.from([b]));
    const sniffed = await readBody(stream(...bytes), { limit: 10_000, gzip: false });
    assert.equal(sniffed.data.toString(), JSON_TEXT);
    assert.equal(sniffed.inflated, true);
    assert.equal(sniffed.wireBytes, gz.length);
  });

  test("the inflated size is held to the limit (exactly at it passes, one over is a 413)", async () => {
    const at = await readBody(stream(gzipSync(Buffer.alloc(5000, 65))), { limit: 5000, gzip: false });
    assert.equal(at.data.length, 5000);
    const msg = await rejection(
      readBody(stream(gzipSync(Buffer.alloc(5001, 65))), { limit: 5000, gzip: false }),
      413,
      "too_large",
    );
    assert.match(msg, /inflated gzip body/);
  });

  test("an endless gzip bomb stops at the limit: only a few KB of it are ever read", async () => {
    // a lazy source: gzip of zeros without end; reading it all would never finish
    const zeros = new Readable({
      read() {
        this.push(Buffer.alloc(1024 * 1024));
      },
    });
    const bomb = zeros.pipe(createGzip());
    let compressedRead = 0;
    bomb.on("data", (c: Buffer) => {
      compressedRead += c.length;
    });
    bomb.pause();
    await rejection(readBody(bomb, { limit: 2_000_000, gzip: false }), 413, "too_large");
    zeros.destroy();
    bomb.destroy();
    // 2 MB of zeros is about 2 KB of gzip: the reader stopped long before 1 MB of input
    assert.ok(compressedRead < 1_000_000, `read ${compressedRead} compressed bytes`);
  });

  test("truncated and corrupt gzip are 400s that say so", async () => {
    const gz = gzipSync(JSON_TEXT.repeat(20));
    const truncated = await rejection(
      readBody(stream(gz.subarray(0, gz.length - 20)), { limit: 10_000, gzip: false }),
      400,
      "invalid_encoding",
    );
    assert.equal(truncated, "the body is not valid gzip data: it ends early (truncated)");
    const corrupt = Buffer.from(gz);
    corrupt.fill(0xff, 10, 30);
    const msg = await rejection(
      readBody(stream(corrupt), { limit: 10_000, gzip: false }),
      400,
      "invalid_encoding",
    );
    assert.match(msg, /^the body is not valid gzip data: /);
    const notGzip = await rejection(
      readBody(stream(Buffer.from(JSON_TEXT)), { limit: 10_000, gzip: true }),
      400,
      "invalid_encoding",
    );
    assert.match(notGzip, /not valid gzip data: incorrect header check/);
  });

  test("an empty body, with or without Content-Encoding: gzip, reads as empty", async () => {
    assert.equal((await readBody(stream(), { limit: 10, gzip: false })).data.length, 0);
    assert.equal((await readBody(stream(), { limit: 10, gzip: true })).data.length, 0);
  });
});

describe("decodePayload", () => {
  test("compression names: PostHog's, any case; unknown names are no compression", () => {
    const cases: [string | undefined, string | undefined][] = [
      ["gzip", "gzip"],
      ["gzip-js", "gzip"],
      ["GZIP", "gzip"],
      ["lz64", "lz64"],
      ["lz-string", "lz64"],
      ["base64", "base64"],
      ["b64", "base64"],
      ["brotli", undefined],
      ["", undefined],
      [undefined, undefined],
    ];
    for (const [input, expected] of cases) assert.equal(compressionHint(input), expected, String(input));
  });

  test("plain JSON, gzip by compression=gzip-js, by Content-Encoding and by magic bytes all give the same text", async () => {
    assert.equal(await decode(JSON_TEXT), JSON_TEXT);
    assert.equal(await decode(gzipSync(JSON_TEXT), { query: { compression: "gzip-js" } }), JSON_TEXT);
    assert.equal(await decode(gzipSync(JSON_TEXT), { gzipHeader: true, encoding: "gzip" }), JSON_TEXT);
    assert.equal(await decode(gzipSync(JSON_TEXT)), JSON_TEXT);
  });

  test("an unknown compression name reads the body as it is", async () => {
    assert.equal(await decode(JSON_TEXT, { query: { compression: "zstd" } }), JSON_TEXT);
  });

  test("compression=gzip on a body that is not gzip is a 400", async () => {
    const msg = await rejection(
      decode(JSON_TEXT, { query: { compression: "gzip" } }),
      400,
      "invalid_encoding",
    );
    assert.equal(msg, "compression=gzip was given but the payload is not gzip data");
  });

  test("lz64 (made by the lz-string package) by query, by form field, and its limit", async () => {
    const lz = LZString.compressToBase64(JSON_TEXT);
    assert.equal(await decode(lz, { query: { compression: "lz64" } }), JSON_TEXT);
    assert.equal(await decode(lz, { query: { compression: "lz-string" } }), JSON_TEXT);
    const form = `data=${encodeURIComponent(lz)}&compression=lz64&ver=1.2.3`;
    assert.equal(await decode(form), JSON_TEXT);
    const bomb = LZString.compressToBase64("A".repeat(300_000));
    assert.ok(bomb.length < 5_000);
    await rejection(decode(bomb, { query: { compression: "lz64" }, limit: 100_000 }), 413, "too_large");
    const bad = await rejection(decode("!!!!", { query: { compression: "lz64" } }), 400, "invalid_encoding");
    assert.match(bad, /^compression=lz64 was given but the payload is not lz-string data/);
  });

  test("a form body data=<base64>, with + sent raw (decoded to spaces) or escaped", async () => {
    // this JSON's base64 holds "+" characters: they must survive form decoding
    const json = '{"event":"e>>>?","distinct_id":"~~~"}';
    const b64 = Buffer.from(json).toString("base64");
    assert.ok(b64.includes("+"), b64);
    assert.equal(await decode(`data=${encodeURIComponent(b64)}`), json);
    assert.equal(await decode(`data=${b64}&_=1694769302325`), json);
    assert.equal(await decode(`_=1694769302325&data=${b64}`), json);
  });

  test("a form body without data is a 400; form detection", async () => {
    const msg = await rejection(decode("ver=1&compression=base64"), 400, "empty_payload");
    assert.match(msg, /no `data` field/);
    assert.equal(looksLikeForm("data=abc"), true);
    assert.equal(looksLikeForm("ip=1&data=abc"), true);
    assert.equal(looksLikeForm('{"data=":1}'), false);
    assert.equal(looksLikeForm("[1]"), false);
  });

  test("GET ?data= carries JSON or base64 JSON in place of a body", async () => {
    assert.equal(await decode("", { query: { data: JSON_TEXT } }), JSON_TEXT);
    const b64 = Buffer.from(JSON_TEXT).toString("base64");
    assert.equal(await decode("", { query: { data: b64 } }), JSON_TEXT);
    assert.equal(await decode("", { query: { data: b64.replaceAll("+", " ") } }), JSON_TEXT);
  });

  test("a raw base64 body, and base64 of gzip", async () => {
    assert.equal(await decode(Buffer.from(JSON_TEXT).toString("base64")), JSON_TEXT);
    assert.equal(await decode(gzipSync(JSON_TEXT).toString("base64")), JSON_TEXT);
    assert.equal(
      await decode(gzipSync(JSON_TEXT).toString("base64"), { query: { compression: "gzip" } }),
      JSON_TEXT,
    );
  });

  test("double base64 is decoded again on legacy routes only", async () => {
    const twice = Buffer.from(Buffer.from(JSON_TEXT).toString("base64")).toString("base64");
    assert.equal(await decode(`data=${encodeURIComponent(twice)}`, { legacy: true }), JSON_TEXT);
    assert.equal(
      await decode(`data=${encodeURIComponent(twice)}`, { legacy: false }),
      Buffer.from(JSON_TEXT).toString("base64"),
    );
  });

  test("empty payloads and invalid UTF-8 are 400s", async () => {
    const empty = await rejection(decode(""), 400, "empty_payload");
    assert.match(empty, /no payload/);
    const msg = await rejection(decode(Buffer.from([0x7b, 0xff, 0xfe, 0x7d])), 400, "invalid_encoding");
    assert.match(msg, /not valid UTF-8/);
  });

  test("base64 of gzip bomb keeps the limit", async () => {
    const bomb = gzipSync(Buffer.alloc(3_000_000)).toString("base64");
    await rejection(decode(bomb, { limit: 2_000_000 }), 413, "too_large");
  });
});
