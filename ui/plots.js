// Plots drawn with uPlot (bundled with ferry, served from /ui/vendor/): time series of runs and of live events.

const uPlot = globalThis.uPlot;

function width(el) {
  return Math.max(320, Math.min(640, (el.parentElement?.clientWidth ?? 700) - 24));
}

/**
 * A time-series plot in `el`: `series` is [{ label, stroke }], data is [[unix seconds...], [values...], ...].
 * Returns the uPlot instance; `el.dataset.points` says how many points it shows (tests and screen readers read it).
 */
export function timePlot(el, title, series, data, options = {}) {
  el.replaceChildren();
  el.dataset.points = String(data[0]?.length ?? 0);
  const plot = new uPlot(
    {
      title,
      width: width(el),
      height: options.height ?? 220,
      scales: { x: { time: true } },
      axes: [{}, { label: options.yLabel ?? "" }],
      series: [
        {},
        ...series.map((s) => ({
          label: s.label,
          stroke: s.stroke,
          width: 2,
          points: { show: options.points ?? data[0].length < 60 },
          spanGaps: false,
        })),
      ],
    },
    data,
    el,
  );
  return plot;
}

/** Replaces a plot's data (the live plots move this way). */
export function updatePlot(plot, el, data) {
  plot.setData(data);
  el.dataset.points = String(data[0]?.length ?? 0);
}

/** Rows loaded per run and run durations over time, from a pipeline's runs (newest first). */
export function runPlots(container, runs) {
  const done = runs
    .filter((r) => r.finishedAt)
    .slice()
    .reverse();
  const t = done.map((r) => Date.parse(r.startedAt) / 1000);
  const rows = done.map((r) => Object.values(r.rows ?? {}).reduce((a, b) => a + b, 0));
  const secs = done.map((r) => (typeof r.durationMs === "number" ? r.durationMs / 1000 : null));
  const a = document.createElement("div");
  a.className = "plot";
  a.id = "plot-rows";
  const b = document.createElement("div");
  b.className = "plot";
  b.id = "plot-duration";
  container.replaceChildren(a, b);
  timePlot(a, "Rows loaded per run", [{ label: "rows", stroke: "#0b5cad" }], [t, rows], { yLabel: "rows" });
  timePlot(b, "Run duration", [{ label: "seconds", stroke: "#9a6700" }], [t, secs], { yLabel: "s" });
}
