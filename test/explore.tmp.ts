import { tempPipeline, columnsOf } from "./helpers/tmp-pipeline.js";
import { resource } from "../src/index.js";
const { p, cleanup } = tempPipeline("bad");
const show = async (label: string, f: () => Promise<unknown>) => {
  try { const r: any = await f(); console.log(label, "OK", JSON.stringify({ rows: r?.rows, warnings: r?.warnings })); }
  catch (e: any) { console.log(label, "ERR", e?.constructor?.name, e?.message, e?.fields, e?.hint); }
};
await show("big40", () => p.run([{ b: 1234567890123456789012345678901234567890n }, { b: -99999999999999999999n }], { table: "big" }));
console.log(await columnsOf(p, "bad", "big"), await p.dataset().sql("select * exclude (_ferry_id, _ferry_load_id) from big"));
let t = Date.now();
const s = "x".repeat(50 * 1024 * 1024 - 3) + "end";
await show("50mb", () => p.run([{ id: 1, s }], { table: "huge" }));
const r = await p.dataset().sql("select length(s) as n, s from huge");
console.log(r[0]?.n, r[0]?.s === s, Date.now() - t);
await show("base", () => p.run(resource({ name: "fz" }, [{ id: 1, name: "a" }])));
await show("freeze-col", () => p.run(resource({ name: "fz", schemaContract: "freeze" }, [{ id: 2, name: "b" }, { id: 3, extra: "x" }])));
await show("freeze-type", () => p.run(resource({ name: "fz", schemaContract: "freeze" }, [{ id: "abc" }])));
await show("freeze-table", () => p.run(resource({ name: "fz2", schemaContract: "freeze" }, [{ id: 1 }])));
console.log(await p.dataset().sql("select id, name from fz"), await p.dataset().tables());
await show("drow", () => p.run(resource({ name: "fz", schemaContract: "discard_row" }, [{ id: 4, name: "c" }, { id: 5, extra: "x" }, { id: "bad" }])));
await show("dval", () => p.run(resource({ name: "fz", schemaContract: "discard_value" }, [{ id: 6, name: "d", extra: "x" }, { id: "bad", name: "e" }])));
console.log(await columnsOf(p, "bad", "fz"), await p.dataset().sql("select id, name from fz order by id"));
await show("run-contract", () => p.run(resource({ name: "fz" }, [{ id: 7, zz: 1 }]), { schemaContract: { columns: "freeze" } }));
cleanup();
