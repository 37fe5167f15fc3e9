// The events page (with ferry serve): live plots of events/s accepted and loaded and of the visibility lag, a live
// tail of recent events, plugin errors and dead letters.
import { api, errorBox, fill, h, rowsTable, table, when } from "./dom.js";
import { timePlot, updatePlot } from "./plots.js";

const WINDOW = 300; // seconds shown

export async function eventsPage(main, ctx) {
  const rates = h("div", { class: "plot", id: "plot-rates" });
  const lag = h("div", { class: "plot", id: "plot-visibility" });
  const tail = h("div", { id: "tail" });
  const errors = h("div", { id: "event-errors" });
  const status = h("p", { class: "muted", id: "events-status" }, "waiting for the first samples...");
  fill(
    main,
    h("h1", {}, "Events"),
    status,
    h("div", { class: "plots" }, rates, lag),
    h("h2", {}, "Recent events"),
    tail,
    h("h2", {}, "Plugin errors and dead letters"),
    errors,
  );
  let samples = [];
  const series = () => {
    const t = samples.map((s) => s.t);
    return {
      rates: [t, samples.map((s) => s.acceptedPerSec), samples.map((s) => s.loadedPerSec)],
      lag: [t, samples.map((s) => s.visibilitySec)],
    };
  };
  let ratePlot;
  let lagPlot;
  const draw = () => {
    const d = series();
    if (!ratePlot) {
      ratePlot = timePlot(
        rates,
        "Events per second",
        [
          { label: "accepted", stroke: "#0b5cad" },
          { label: "loaded", stroke: "#1a7f37" },
        ],
        d.rates,
        { yLabel: "events/s", points: false },
      );
      lagPlot = timePlot(
        lag,
        "Visibility lag (acknowledged to queryable)",
        [{ label: "seconds", stroke: "#9a6700" }],
        d.lag,
        { yLabel: "s", points: false },
      );
    } else {
      updatePlot(ratePlot, rates, d.rates);
      updatePlot(lagPlot, lag, d.lag);
    }
    const last = samples.at(-1);
    if (last) {
      rates.dataset.lastAccepted = String(last.acceptedPerSec);
      rates.dataset.totalAccepted = String(samples.reduce((a, s) => a + s.acceptedPerSec, 0));
      status.textContent = `${Math.round(last.acceptedPerSec)} events/s accepted, ${Math.round(last.loadedPerSec)} events/s loaded, ${last.lagEvents} event(s) not loaded yet`;
    }
  };
  const poll = async () => {
    const since = samples.at(-1)?.t ?? 0;
    const live = await api(`events/live?since=${since}`);
    samples = [...samples, ...live.samples].filter((s) => s.t > Date.now() / 1000 - WINDOW);
    draw();
    fill(
      tail,
      live.tail.length
        ? table(
            ["time", "event", "distinct_id", "dataset", "uuid"],
            live.tail.slice(0, 25).map((e) => [when(e.timestamp), e.event, e.distinct_id, e.project, e.uuid]),
            { id: "tail-table" },
          )
        : h("p", { class: "muted" }, "no events yet"),
    );
  };
  const loadErrors = async () => {
    try {
      const out = await api("events/errors");
      fill(
        errors,
        out.tables.length === 0
          ? h(
              "p",
              { class: "muted" },
              "none: no plugin_errors or dead_letters table in the projects' datasets",
            )
          : out.tables.map((t) =>
              h(
                "div",
                {},
                h("h3", {}, `${t.dataset}.${t.table}`),
                t.error ? errorBox({ message: t.error }) : rowsTable(t.rows),
              ),
            ),
      );
    } catch (err) {
      fill(errors, errorBox(err));
    }
  };
  await poll();
  await loadErrors();
  ctx.every(1000, poll);
  ctx.every(10_000, loadErrors);
}
