/**
 * A normalize worker thread: normalizes the extracted files it is given with its own copy of the schema and its own
 * load files (file names carry its prefix), and returns its schema for the main thread to merge.
 */
import { parentPort } from "node:worker_threads";
import { Schema } from "../../schema/schema.js";
import { isFerryError } from "../../util/errors.js";
import { LoadFileWriter } from "../load-file-writer.js";
import { normalizeUnit } from "../normalize-unit.js";
import { RelationalNormalizer } from "../rows/relational.js";
import type { FromWorker, ToWorker } from "./worker-protocol.js";

const port = parentPort;
if (!port) throw new Error("normalize-worker runs as a worker thread");

let schema: Schema | undefined;
let writer: LoadFileWriter | undefined;
let normalizer: RelationalNormalizer | undefined;
let queue: Promise<void> = Promise.resolve();

const send = (m: FromWorker) => port.postMessage(m);

async function handle(msg: ToWorker): Promise<void> {
  if (msg.type === "init") {
    schema = Schema.fromStored(msg.baseSchema);
    writer = new LoadFileWriter(msg.outDir, schema, {
      prefix: msg.prefix,
      ...(msg.maxFileBytes ? { maxFileBytes: msg.maxFileBytes } : {}),
    });
    normalizer = new RelationalNormalizer({
      schema,
      loadId: msg.loadId,
      maxIdentifierLength: msg.maxIdentifierLength,
      sink: writer,
    });
    for (const t of msg.tables) normalizer.rootTable(t.table, t.hints);
    send({ type: "ready" });
    return;
  }
  if (!schema || !writer || !normalizer) throw new Error("normalize worker used before init");
  if (msg.type === "unit") {
    const { unit } = msg;
    const items = await normalizeUnit(normalizer, writer, unit);
    send({ type: "unit-done", index: unit.index, table: unit.table, items });
    return;
  }
  normalizer.finish();
  const index = await writer.close();
  send({
    type: "result",
    schema: schema.toStored(),
    changes: [...schema.changes],
    index,
    stats: normalizer.stats,
  });
}

port.on("message", (msg: ToWorker) => {
  queue = queue
    .then(() => handle(msg))
    .catch((err: unknown) => {
      const e = err instanceof Error ? err : new Error(String(err));
      send({
        type: "error",
        error: {
          name: e.name,
          message: e.message,
          ...(isFerryError(err)
            ? { fields: { ...err.fields }, ...(err.hint ? { hint: err.hint } : {}) }
            : {}),
        },
      });
    });
});
