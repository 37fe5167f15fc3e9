/**
 * Another process reading a DuckDB file while `ferry serve` writes it (run with `node --import tsx`):
 *
 *   hold <file>          opens the file read-only and keeps it open (DuckDB's shared file lock) until a line
 *                        "release" arrives on stdin; prints "held" once open, "released" once closed.
 *   query <file> <sql>   opens the file read-only, retrying while the server holds it for a load, runs the query and
 *                        prints the rows as one JSON line (bigints as numbers), then exits.
 *
 * Errors are printed as `{"error": "..."}` with exit code 1.
 */
import { createInterface } from "node:readline";
import { DuckDBInstance } from "@duckdb/node-api";

const [mode, file, sql] = process.argv.slice(2);

const isLock = (err: unknown) => /lock/i.test(String((err as Error)?.message ?? err));

async function openReadOnly(deadline: number): Promise<DuckDBInstance> {
  for (;;) {
    try {
      return await DuckDBInstance.create(file as string, { access_mode: "READ_ONLY" });
    } catch (err) {
      // The server holds the file only while it loads: wait for the load to end.
      if (!isLock(err) || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

async function main(): Promise<void> {
  if (!file || (mode !== "hold" && mode !== "query") || (mode === "query" && !sql)) {
    throw new Error("usage: hold <file> | query <file> <sql>");
  }
  const instance = await openReadOnly(Date.now() + 60_000);
  const conn = await instance.connect();
  if (mode === "query") {
    await conn.run("SET TimeZone = 'UTC'");
    const rows = (await conn.runAndReadAll(sql as string)).getRowObjectsJson();
    conn.closeSync();
    instance.closeSync();
    process.stdout.write(`${JSON.stringify(rows)}\n`);
    return;
  }
  process.stdout.write("held\n");
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    if (line.trim() === "release") break;
  }
  lines.close();
  conn.closeSync();
  instance.closeSync();
  process.stdout.write("released\n");
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stdout.write(`${JSON.stringify({ error: String((err as Error)?.message ?? err) })}\n`);
    process.exit(1);
  },
);
