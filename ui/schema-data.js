// A pipeline's schema page (tables, columns, child-table tree, version history as a diff) and its data page.
import { api, errorBox, fill, h, rowsTable, table, when } from "./dom.js";

const enc = encodeURIComponent;

function tableNode(node) {
  const t = node.table;
  const cols = Object.values(t.columns);
  return h(
    "li",
    { "data-table": t.name },
    h(
      "details",
      { open: true },
      h(
        "summary",
        {},
        h("strong", {}, t.name),
        h(
          "span",
          { class: "muted" },
          ` ${cols.length} columns${t.writeDisposition ? `, ${t.writeDisposition}` : ""}${t.parent ? `, child of ${t.parent}` : ""}`,
        ),
      ),
      table(
        ["column", "type", "nullable", "key"],
        cols.map((c) => [
          c.name,
          h("td", { "data-type": c.type }, c.type),
          c.nullable === false ? "no" : "yes",
          [
            c.primaryKey ? "primary key" : "",
            c.mergeKey ? "merge key" : "",
            c.variantOf ? `variant of ${c.variantOf}` : "",
          ]
            .filter(Boolean)
            .join(", "),
        ]),
      ),
      node.children.length ? h("ul", {}, node.children.map(tableNode)) : null,
    ),
  );
}

function versionDiff(v) {
  const lines = [
    ...v.addedTables.map((t) => h("li", { class: "diff-add" }, `+ table ${t}`)),
    ...v.addedColumns.map((c) => h("li", { class: "diff-add" }, `+ ${c.table}.${c.column} ${c.type}`)),
    ...v.changedColumns.map((c) =>
      h("li", { class: "diff-chg" }, `~ ${c.table}.${c.column} ${c.from} -> ${c.to}`),
    ),
    ...v.removedTables.map((t) => h("li", { class: "diff-del" }, `- table ${t}`)),
  ];
  return h(
    "div",
    { class: "version", "data-version": v.version },
    h(
      "h3",
      {},
      `version ${v.version}`,
      h("span", { class: "muted" }, ` ${v.hash}${v.insertedAt ? ` at ${when(v.insertedAt)}` : ""}`),
    ),
    lines.length ? h("ul", {}, lines) : h("p", { class: "muted" }, "no changes to tables or columns"),
  );
}

export async function schemaPage(main, _ctx, name) {
  const view = await api(`pipelines/${enc(name)}/schema`);
  fill(
    main,
    h("h1", {}, `Schema of ${name}`),
    h(
      "p",
      {},
      h("a", { href: `#/p/${enc(name)}` }, `← pipeline ${name}`),
      " ",
      h("a", { href: `#/p/${enc(name)}/data` }, "Data"),
    ),
    h("p", {}, `schema ${view.schema.name}, version ${view.schema.version}`),
    h("h2", {}, "Tables"),
    h("div", { class: "tree", id: "schema-tree" }, h("ul", {}, view.tree.map(tableNode))),
    h("h2", {}, "Version history"),
    view.historyNote ? h("p", { class: "note" }, view.historyNote) : null,
    h("div", { id: "schema-history" }, view.history.map(versionDiff)),
  );
}

export async function dataPage(main, _ctx, name, selected) {
  const { tables } = await api(`pipelines/${enc(name)}/tables`);
  const rowsBox = h("div", { id: "table-rows" });
  const sql = h(
    "textarea",
    { id: "sql", rows: 5, spellcheck: "false" },
    `select count(*) as n from ${JSON.stringify(tables.find((t) => !t.startsWith("_ferry")) ?? "_ferry_loads")}`,
  );
  const result = h("div", { id: "sql-result" });
  const runSql = h(
    "button",
    {
      id: "sql-run",
      onclick: async () => {
        runSql.disabled = true;
        fill(result, h("p", { class: "muted" }, "running..."));
        try {
          const out = await api(`pipelines/${enc(name)}/sql`, { sql: sql.value });
          fill(
            result,
            rowsTable(out.rows, { "data-rows": out.rows.length }),
            out.truncated ? h("p", { class: "note" }, "only the first 1,000 rows are shown") : null,
          );
        } catch (err) {
          fill(result, errorBox(err));
        } finally {
          runSql.disabled = false;
        }
      },
    },
    "Run query",
  );
  fill(
    main,
    h("h1", {}, `Data of ${name}`),
    h(
      "p",
      {},
      h("a", { href: `#/p/${enc(name)}` }, `← pipeline ${name}`),
      " ",
      h("a", { href: `#/p/${enc(name)}/schema` }, "Schema"),
    ),
    h("h2", {}, "Tables"),
    h(
      "p",
      { class: "tabs", id: "tables" },
      tables.map((t) => h("a", { href: `#/p/${enc(name)}/data/${enc(t)}`, "data-table": t }, t)),
    ),
    rowsBox,
    h("h2", {}, "SQL (read-only)"),
    sql,
    h("div", {}, runSql),
    result,
  );
  if (selected) {
    try {
      const out = await api(`pipelines/${enc(name)}/tables/${enc(selected)}?limit=50`);
      fill(
        rowsBox,
        h("h3", {}, `${selected}: first ${out.rows.length} rows`),
        rowsTable(out.rows, { "data-table-rows": selected }),
      );
    } catch (err) {
      fill(rowsBox, errorBox(err));
    }
  }
}
