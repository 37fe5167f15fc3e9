// The dashboard's router: hash routes to pages; each page gets a context with its timers, cleared on navigation.
import { api, errorBox, h } from "./dom.js";
import { eventsPage } from "./events.js";
import { pipelinePage, pipelinesPage, runPage } from "./pipelines.js";
import { dataPage, schemaPage } from "./schema-data.js";

const main = document.getElementById("page");
let timers = [];
let features = { events: false, runNow: false };

const routes = [
  [/^#?\/?$/, pipelinesPage, "pipelines"],
  [/^#\/events$/, eventsPage, "events"],
  [/^#\/p\/([^/]+)$/, pipelinePage, "pipelines"],
  [/^#\/p\/([^/]+)\/run\/([^/]+)$/, runPage, "pipelines"],
  [/^#\/p\/([^/]+)\/schema$/, schemaPage, "pipelines"],
  [/^#\/p\/([^/]+)\/data(?:\/([^/]+))?$/, dataPage, "pipelines"],
];

function clearTimers() {
  for (const t of timers) clearTimeout(t);
  timers = [];
}

async function render() {
  clearTimers();
  const hash = location.hash || "#/";
  const match = routes.map(([re, page, nav]) => [re.exec(hash), page, nav]).find(([m]) => m);
  const ctx = {
    runNow: features.runNow,
    go: (to) => {
      location.hash = to;
    },
    refreshIn: (ms) => timers.push(setTimeout(render, ms)),
    every: (ms, fn) => {
      const tick = async () => {
        try {
          await fn();
        } catch (err) {
          console.warn(err);
        }
        timers.push(setTimeout(tick, ms));
      };
      timers.push(setTimeout(tick, ms));
    },
  };
  for (const a of document.querySelectorAll("nav a"))
    a.classList.toggle("active", a.dataset.nav === match?.[2]);
  main.dataset.loading = "true";
  try {
    if (!match)
      main.replaceChildren(h("h1", {}, "Not found"), h("p", {}, h("a", { href: "#/" }, "Pipelines")));
    else
      await match[1](
        main,
        ctx,
        ...match[0]
          .slice(1)
          .filter((x) => x !== undefined)
          .map(decodeURIComponent),
      );
  } catch (err) {
    main.replaceChildren(h("h1", {}, "Error"), errorBox(err));
  } finally {
    main.dataset.loading = "false";
  }
}

async function start() {
  try {
    const overview = await api("overview");
    features = { events: overview.events, runNow: overview.runNow };
    document.getElementById("nav-events").hidden = !overview.events;
  } catch {
    // the page shows the error when it loads
  }
  window.addEventListener("hashchange", render);
  await render();
}

start();
