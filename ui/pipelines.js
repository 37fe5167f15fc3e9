// The pipelines page, a pipeline's page (runs and their plots) and a run's page.
import { api, duration, errorBox, fill, fmt, h, num, statusCell, table, totalRows, when } from "./dom.js";
import { runPlots } from "./plots.js";

const enc = encodeURIComponent;

/** The "run now" button: starts the run and opens its page. */
function runButton(name, ctx) {
  const btn = h(
    "button",
    {
      "data-run": name,
      onclick: async () => {
        btn.disabled = true;
        try {
          const { runId } = await api(`pipelines/${enc(name)}/run`, {});
          ctx.go(`#/p/${enc(name)}/run/${enc(runId)}`);
        } catch (err) {
          btn.disabled = false;
          btn.after(errorBox(err));
        }
      },
    },
    "Run now",
  );
  return btn;
}

export async function pipelinesPage(main, ctx) {
  const data = await api("overview");
  fill(main, h("h1", {}, "Pipelines"));
  if (data.pipelines.length === 0) {
    main.append(
      h(
        "p",
        { class: "muted" },
        "no pipelines yet: run one (ferry run ...) or list them under pipelines: in ferry.yaml",
      ),
    );
    return;
  }
  const rows = data.pipelines.map((p) => [
    h("td", {}, h("a", { href: `#/p/${enc(p.name)}` }, p.name)),
    p.destination ?? "-",
    p.dataset ?? "-",
    p.lastRun ? h("td", {}, statusCell(p.lastRun.status)) : "never ran",
    p.lastRun ? h("td", { class: "num", "data-rows": p.lastRun.rows }, fmt(p.lastRun.rows)) : "-",
    p.lastRun ? duration(p.lastRun.durationMs) : "-",
    p.lastRun ? when(p.lastRun.startedAt) : "-",
    p.schedule,
    p.paused ? h("td", { class: "status-paused" }, `paused: ${p.paused}`) : when(p.nextRun),
    p.runnable && data.runNow ? h("td", {}, runButton(p.name, ctx)) : h("td", { class: "muted" }, "-"),
  ]);
  main.append(
    table(
      [
        "pipeline",
        "destination",
        "dataset",
        "last run",
        "rows",
        "duration",
        "started",
        "schedule",
        "next run",
        "",
      ],
      rows,
      { id: "pipelines" },
    ),
  );
}

export async function pipelinePage(main, ctx, name) {
  const data = await api(`pipelines/${enc(name)}`);
  const p = data.pipeline;
  fill(
    main,
    h("h1", {}, `Pipeline ${name}`),
    h(
      "p",
      { class: "tabs" },
      h("a", { href: `#/p/${enc(name)}/schema` }, "Schema"),
      h("a", { href: `#/p/${enc(name)}/data` }, "Data"),
      p?.runnable && ctx.runNow ? runButton(name, ctx) : null,
    ),
    h(
      "dl",
      { class: "facts" },
      h("dt", {}, "destination"),
      h("dd", {}, p?.destination ?? "-"),
      h("dt", {}, "dataset"),
      h("dd", {}, p?.dataset ?? "-"),
      h("dt", {}, "schedule"),
      h("dd", {}, p?.schedule ?? "-"),
      h("dt", {}, "next run"),
      h("dd", {}, p?.paused ? `paused: ${p.paused}` : when(p?.nextRun)),
    ),
  );
  if (data.runs.length === 0) {
    main.append(h("p", { class: "muted" }, "no runs yet"));
    return;
  }
  const plots = h("div", { class: "plots", id: "run-plots" });
  main.append(h("h2", {}, "Runs over time"), plots);
  runPlots(plots, data.runs);
  main.append(
    h("h2", {}, "Runs"),
    table(
      ["run", "status", "trigger", "started", "duration", "rows", "error or note"],
      data.runs.map((r) => [
        h("td", {}, h("a", { href: `#/p/${enc(name)}/run/${enc(r.id)}` }, r.id)),
        h("td", {}, statusCell(r.status)),
        r.trigger,
        when(r.startedAt),
        duration(r.durationMs),
        num(totalRows(r.rows)),
        r.error ? h("td", { class: "error" }, r.error.message) : h("td", { class: "muted" }, r.reason ?? ""),
      ]),
      { id: "runs" },
    ),
  );
}

export async function runPage(main, ctx, name, id) {
  const view = await api(`pipelines/${enc(name)}/runs/${enc(id)}`);
  const r = view.run;
  fill(
    main,
    h("h1", {}, "Run ", h("code", {}, r.id)),
    h("p", {}, h("a", { href: `#/p/${enc(name)}` }, `← pipeline ${name}`)),
    h(
      "dl",
      { class: "facts", id: "run-facts" },
      h("dt", {}, "status"),
      h("dd", {}, statusCell(r.status)),
      h("dt", {}, "trigger"),
      h("dd", {}, r.trigger),
      h("dt", {}, "started"),
      h("dd", {}, when(r.startedAt)),
      h("dt", {}, "finished"),
      h("dd", {}, when(r.finishedAt)),
      h("dt", {}, "duration"),
      h("dd", {}, duration(r.durationMs)),
      h("dt", {}, "attempts"),
      h("dd", {}, r.attempts),
      h("dt", {}, "load ids"),
      h("dd", {}, r.loadIds.join(", ") || "-"),
    ),
  );
  if (r.error)
    main.append(
      h("h2", {}, "Error"),
      errorBox({
        message: `${r.error.message}${r.error.code ? ` [${r.error.code}]` : ""}`,
        hint: r.error.hint,
      }),
    );
  const stages = r.stagesMs
    ? ["extract", "normalize", "load", "total"].map((s) => [
        s,
        h("td", { class: "num" }, duration(r.stagesMs[s])),
      ])
    : (view.steps ?? []).map((s) => [
        s.step,
        h("td", { class: "num" }, duration(s.durationMs)),
        s.error ?? "",
      ]);
  main.append(
    h("h2", {}, "Stage timings"),
    stages.length
      ? table(
          ["stage", "time", ""],
          stages.map((s) => [...s, s[2] ?? ""]),
          { id: "stages" },
        )
      : h("p", { class: "muted" }, "no timings recorded"),
  );
  const tables = Object.entries(r.rows).sort(([a], [b]) => a.localeCompare(b));
  main.append(
    h("h2", {}, "Rows per table"),
    tables.length
      ? table(
          ["table", "rows"],
          [
            ...tables.map(([t, n]) => [t, h("td", { class: "num", "data-table": t }, fmt(n))]),
            ["total", num(totalRows(r.rows))],
          ],
          { id: "rows" },
        )
      : h("p", { class: "muted" }, r.status === "running" ? "running..." : "no rows"),
  );
  const changes = r.schemaChanges ?? [];
  main.append(
    h("h2", {}, "Schema changes"),
    changes.length
      ? table(
          ["change", "table", "column", "type"],
          changes.map((c) => [c.kind.replace("_", " "), c.table, c.column ?? "", c.type ?? ""]),
          { id: "schema-changes" },
        )
      : h("p", { class: "muted" }, "none"),
  );
  main.append(h("h2", {}, "Failed jobs"));
  if (view.failedJobs.length === 0)
    main.append(h("p", { class: "muted", id: "failed-jobs" }, `pipeline ${name} has no failed jobs`));
  for (const f of view.failedJobs) {
    main.append(
      h(
        "div",
        { class: "failed-package" },
        h("p", {}, `load ${f.loadId} (files in ${f.dir})`),
        f.jobs.map((j) => h("div", {}, h("code", {}, j.job), h("pre", { class: "error" }, j.error))),
        f.jobs.length === 0
          ? h(
              "pre",
              { class: "error" },
              `the package failed before a job started:\n${f.error ?? "(no error recorded)"}`,
            )
          : null,
      ),
    );
  }
  // A run under way: the page follows it until it ends.
  if (r.status === "running") ctx.refreshIn(1000);
}
