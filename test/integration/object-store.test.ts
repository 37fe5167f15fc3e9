import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { ObjectInfo, ObjectStore } from "../../src/storage/object-store.js";
import { openObjectStore } from "../../src/storage/open.js";
import { ConfigError, DestinationError, describeError } from "../../src/util/errors.js";
import { storeTargets } from "./object-store-targets.js";

// One test body, run against local disk and every emulator (MinIO for S3, Azurite, fake-gcs-server).

const targets = await storeTargets();
const work = mkdtempSync(join(tmpdir(), "ferry-store-files-"));
const MB = 1024 * 1024;

/** A file of pseudo-random bytes (different every run, so a stale object cannot pass). */
function makeFile(name: string, size: number): { path: string; sha: string } {
  const path = join(work, name);
  const buf = randomBytes(size);
  writeFileSync(path, buf);
  return { path, sha: createHash("sha256").update(buf).digest("hex") };
}

const sha = (buf: Buffer) => createHash("sha256").update(buf).digest("hex");
const keySize = (o: ObjectInfo) => ({ key: o.key, size: o.size });

after(async () => {
  for (const t of targets) await t.cleanup();
  rmSync(work, { recursive: true, force: true });
});

for (const target of targets) {
  describe(`object store: ${target.name}`, { skip: target.skip }, () => {
    let store: ObjectStore;
    before(async () => {
      store = await target.open("main");
    });
    after(async () => {
      await store?.close();
    });

    test("putFile / getFile / get of a 20 MB file: byte-exact, uploaded in parts", async () => {
      const big = makeFile(`${target.name}-20mb.bin`, 20 * MB);
      await store.putFile("big/data 20mb.bin", big.path);
      const listed = await store.list("big/");
      assert.deepEqual(listed.map(keySize), [{ key: "big/data 20mb.bin", size: 20 * MB }]);

      const out = join(work, `${target.name}-20mb.out`);
      assert.equal(await store.getFile("big/data 20mb.bin", out), true);
      assert.equal(sha(readFileSync(out)), big.sha);
      assert.ok(!readdirTmp(work).length, "no temporary download file is left behind");
      const whole = await store.get("big/data 20mb.bin");
      assert.equal(whole?.length, 20 * MB);
      assert.equal(sha(whole!), big.sha);

      // 8 MiB parts: 20 MiB is three parts (where the store can tell how an object was uploaded).
      if (target.parts) assert.equal(await target.parts(`${target.prefix}/main/big/data 20mb.bin`), 3);

      // Replacing an object replaces its content (here with a smaller, single-part one).
      const small = makeFile(`${target.name}-small.bin`, 1000);
      await store.putFile("big/data 20mb.bin", small.path);
      assert.equal(sha((await store.get("big/data 20mb.bin"))!), small.sha);
      assert.deepEqual((await store.list("big/")).map(keySize), [{ key: "big/data 20mb.bin", size: 1000 }]);
    });

    test("put / get of small objects; keys with spaces, unicode and URL characters", async () => {
      const keys = [
        "names/with space/file name.txt",
        "names/ünïcödé/naïve 日本語 🚀.json",
        "names/a+b=c&d?e#f.txt",
        "names/100%25 literal %.txt",
      ];
      for (const [i, key] of keys.entries()) await store.put(key, `content ${i}: ${key}`);
      await store.put("names/bytes.bin", new Uint8Array([0, 255, 1, 254]));
      for (const [i, key] of keys.entries())
        assert.equal((await store.get(key))?.toString("utf8"), `content ${i}: ${key}`);
      assert.deepEqual([...(await store.get("names/bytes.bin"))!], [0, 255, 1, 254]);
      const listed = await store.list("names/");
      assert.deepEqual(
        listed.map((o) => o.key),
        [...keys, "names/bytes.bin"].sort(),
      );
      assert.equal(listed.find((o) => o.key === keys[1])?.size, Buffer.byteLength(`content 1: ${keys[1]}`));
      // A file downloaded by a unicode key lands byte-exact too.
      const out = join(work, `${target.name}-unicode.out`);
      assert.equal(await store.getFile(keys[1]!, out), true);
      assert.equal(readFileSync(out, "utf8"), `content 1: ${keys[1]}`);
    });

    test("list: prefixes select keys, results sorted by key, sizes exact", async () => {
      const keys = [
        "l/b/2.txt",
        "l/b/10.txt",
        "l/a/x.txt",
        "l/a.txt",
        "l/b/1/deep.txt",
        "l/ba.txt",
        "l/Z.txt",
        "l/b-c.txt",
      ];
      for (const key of [...keys].reverse()) await store.put(key, key.repeat(3));
      const all = await store.list("l/");
      assert.deepEqual(
        all.map((o) => o.key),
        [
          "l/Z.txt",
          "l/a.txt",
          "l/a/x.txt",
          "l/b-c.txt",
          "l/b/1/deep.txt",
          "l/b/10.txt",
          "l/b/2.txt",
          "l/ba.txt",
        ],
      );
      for (const o of all) assert.equal(o.size, o.key.length * 3);
      assert.deepEqual(
        (await store.list("l/b/")).map((o) => o.key),
        ["l/b/1/deep.txt", "l/b/10.txt", "l/b/2.txt"],
      );
      // A prefix that is not a folder matches names that start with it.
      assert.deepEqual(
        (await store.list("l/b")).map((o) => o.key),
        ["l/b-c.txt", "l/b/1/deep.txt", "l/b/10.txt", "l/b/2.txt", "l/ba.txt"],
      );
      assert.deepEqual(await store.list("l/nothing/"), []);
      assert.deepEqual(await store.list("nothing-at-all"), []);
    });

    test("a store sees only its own prefix", async () => {
      const mine = await target.open("iso");
      const sibling = await target.open("iso-sibling");
      try {
        await mine.put("k.txt", "mine");
        await sibling.put("k.txt", "sibling");
        assert.deepEqual((await mine.list("")).map(keySize), [{ key: "k.txt", size: 4 }]);
        assert.equal((await mine.get("k.txt"))?.toString(), "mine");
        assert.equal((await sibling.get("k.txt"))?.toString(), "sibling");
      } finally {
        await mine.close();
        await sibling.close();
      }
    });

    test("delete: removes the given keys, ignores missing ones", async () => {
      for (const k of ["d/1", "d/2", "d/3", "d/keep"]) await store.put(k, k);
      await store.delete(["d/1", "d/missing", "d/3", "d/never/was"]);
      assert.deepEqual(
        (await store.list("d/")).map((o) => o.key),
        ["d/2", "d/keep"],
      );
      assert.equal(await store.get("d/1"), undefined);
      await store.delete([]);
      await store.delete(["d/1"]); // already gone
      assert.equal((await store.list("d/")).length, 2);
    });

    test("list reports when each object was written", async () => {
      const before = Date.now();
      await store.put("m/one.txt", "1");
      const [o] = await store.list("m/");
      assert.equal(o?.key, "m/one.txt");
      assert.equal(typeof o?.modifiedAt, "number");
      // Within a minute of this test's clock (emulators and disks round to the second).
      assert.ok(Math.abs(o!.modifiedAt! - before) < 60_000, `${o?.modifiedAt} vs ${before}`);
    });

    test("putIfAbsent: creates once, never overwrites, exactly one of racing writers wins", async () => {
      assert.ok(store.putIfAbsent, "every built-in store has a conditional put");
      assert.equal(await store.putIfAbsent!("c/00001.json", "first"), true);
      assert.equal(await store.putIfAbsent!("c/00001.json", "second"), false);
      assert.equal((await store.get("c/00001.json"))?.toString(), "first");
      // The same bytes again (a retried write that had landed) count as this writer's.
      assert.equal(await store.putIfAbsent!("c/00001.json", "first"), true);
      const racers = Array.from({ length: 8 }, (_, i) => `writer ${i}`);
      const won = await Promise.all(racers.map((body) => store.putIfAbsent!("c/00002.json", body)));
      assert.equal(won.filter(Boolean).length, 1, `winners: ${won}`);
      const stored = (await store.get("c/00002.json"))?.toString();
      assert.equal(stored, racers[won.indexOf(true)]);
      assert.deepEqual(
        (await store.list("c/")).map((o) => o.key),
        ["c/00001.json", "c/00002.json"],
        "no temporary object is left behind",
      );
    });

    test("a missing key: get is undefined, getFile is false and writes nothing", async () => {
      assert.equal(await store.get("missing/key.bin"), undefined);
      const out = join(work, `${target.name}-missing.out`);
      assert.equal(await store.getFile("missing/key.bin", out), false);
      assert.equal(existsSync(out), false);
    });

    test("invalid keys are refused before any request", async () => {
      for (const key of ["../escape", "/absolute", "a//b", "a/./b", ""]) {
        await assert.rejects(store.put(key, "x"), ConfigError, key);
      }
      await assert.rejects(store.list("../"), ConfigError);
    });

    test("reached with the cloud's environment variables alone (a child process, no options)", {
      skip: target.options.env ? false : "local disk needs no settings",
    }, () => {
      const open = pathToFileURL(fileURLToPath(new URL("../../src/storage/open.ts", import.meta.url))).href;
      const code = `
        const { openObjectStore } = await import(${JSON.stringify(open)});
        const store = await openObjectStore(${JSON.stringify(target.url("env-only"))});
        await store.put("hello world.txt", "hi");
        const got = (await store.get("hello world.txt"))?.toString();
        const keys = (await store.list("")).map((o) => o.key);
        await store.delete(keys);
        console.log(JSON.stringify({ got, keys }));`;
      const out = execFileSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], {
        encoding: "utf8",
        env: { PATH: process.env.PATH ?? "", HOME: tmpdir(), ...target.options.env },
      });
      assert.deepEqual(JSON.parse(out.trim().split("\n").pop()!), { got: "hi", keys: ["hello world.txt"] });
    });

    test("a wrong credential: a clear error that names what to check, never the secret", {
      skip: target.wrongCredential ? false : "local disk has no credentials",
    }, async () => {
      const wrong = target.wrongCredential!();
      const bad = await openObjectStore(target.url("cred"), wrong.options);
      try {
        for (const attempt of [() => bad.put("k.txt", "v"), () => bad.list(""), () => bad.get("k.txt")]) {
          const err = await attempt().then(
            () => assert.fail("expected an error"),
            (e: unknown) => e,
          );
          assert.ok(err instanceof DestinationError, String(err));
          assert.match(err.message, /access denied/);
          assert.equal(err.transient, false);
          assert.match(err.hint ?? "", wrong.hintNames);
          const printed = describeError(err);
          assert.ok(!printed.includes(wrong.secret), `secret leaked: ${printed}`);
          assert.ok(!JSON.stringify(err.fields).includes(wrong.secret));
        }
      } finally {
        await bad.close();
      }
    });

    test("a missing bucket: a clear error naming it", {
      skip: target.missingBucketUrl ? false : "local disk has no buckets",
    }, async () => {
      const bucket = `ferry-missing-${randomBytes(4).toString("hex")}`;
      const missing = await openObjectStore(target.missingBucketUrl!(bucket), target.options);
      try {
        for (const attempt of [
          () => missing.put("k.txt", "v"),
          () => missing.putFile("k.bin", makeFile(`${target.name}-nb.bin`, 10).path),
          () => missing.list(""),
          () => missing.get("k.txt"),
          () => missing.delete(["k.txt"]),
        ]) {
          const err = await attempt().then(
            () => assert.fail("expected an error"),
            (e: unknown) => e,
          );
          assert.ok(err instanceof DestinationError, String(err));
          assert.match(err.message, new RegExp(`(bucket|container) "${bucket}" does not exist`));
          assert.match(err.hint ?? "", new RegExp(`create the (bucket|container) "${bucket}"`));
          assert.equal(err.fields.bucket, bucket);
        }
      } finally {
        await missing.close();
      }
    });
  });
}

function readdirTmp(dir: string): string[] {
  return readdirSync(dir).filter((f) => f.endsWith(".tmp"));
}
