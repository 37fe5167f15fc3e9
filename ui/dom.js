// Small DOM and API helpers shared by the pages. Text always goes in as text (never as HTML): names and values
// come from data.

/** Creates an element: h("td", { class: "num" }, "12"). Children may be strings, numbers, nodes or arrays. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, children);
  return el;
}

/** Replaces an element's children (null, undefined and false are left out). */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Fetches the dashboard's API: JSON, or an Error carrying the API's message. */
export async function api(path, body) {
  const res = await fetch(`api/${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: body === undefined ? {} : { "content-type": "application/json", "x-ferry-ui": "1" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await res.json().catch(() => ({ error: `HTTP ${res.status}` }));
  if (!res.ok) {
    const err = new Error(data.error ?? `HTTP ${res.status}`);
    err.hint = data.hint;
    err.status = res.status;
    throw err;
  }
  return data;
}

export const fmt = (n) => (typeof n === "number" ? n.toLocaleString("en-US") : "-");

/** 1234 ms -> "1.2 s"; 95000 -> "1 min 35 s". */
export function duration(ms) {
  if (typeof ms !== "number") return "-";
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const m = Math.floor(ms / 60_000);
  return `${m} min ${Math.round((ms % 60_000) / 1000)} s`;
}

export const when = (iso) => (iso ? iso.replace("T", " ").replace(/\.\d+Z$/, "Z") : "-");

export const statusCell = (status) => h("span", { class: `status-${status}`, "data-status": status }, status);

export const totalRows = (rows) => Object.values(rows ?? {}).reduce((a, b) => a + b, 0);

/** A table from a header list and rows of cells. */
export function table(headers, rows, attrs = {}) {
  return h(
    "table",
    attrs,
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        headers.map((x) => h("th", {}, x)),
      ),
    ),
    h(
      "tbody",
      {},
      rows.map((r) =>
        h(
          "tr",
          {},
          r.map((c) => (c instanceof Node && c.tagName === "TD" ? c : h("td", {}, c))),
        ),
      ),
    ),
  );
}

export const num = (n) => h("td", { class: "num" }, fmt(n));

/** An error box with the API's hint. */
export const errorBox = (err) =>
  h(
    "div",
    { class: "error", role: "alert" },
    err.message,
    err.hint ? h("div", { class: "muted" }, `hint: ${err.hint}`) : null,
  );

/** A cell value as text: objects as JSON. */
export function cellText(v) {
  if (v === null || v === undefined) return "NULL";
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

/** Rows of query results as a table (columns from the first row). */
export function rowsTable(rows, attrs = {}) {
  if (rows.length === 0) return h("p", { class: "muted" }, "no rows");
  const cols = Object.keys(rows[0]);
  return h(
    "div",
    { class: "scroll" },
    table(
      cols,
      rows.map((r) => cols.map((c) => cellText(r[c]))),
      attrs,
    ),
  );
}
