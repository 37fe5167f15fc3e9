import { capture } from "./capture.js";
import { captureKafka } from "./capture-kafka.js";
import { capturePlugins } from "./capture-plugins.js";
import { clickhouseBench } from "./clickhouse.js";
import { deep } from "./deep.js";
import { delta } from "./delta.js";
import { events } from "./events.js";
import { eventsPostgres } from "./events-postgres.js";
import { fleet } from "./fleet.js";
import { nested } from "./nested.js";
import { parquet } from "./parquet.js";
import { plugins } from "./plugins.js";
import { postgres } from "./postgres.js";
import { rest } from "./rest.js";
import type { Scenario } from "./scenario.js";
import { wide } from "./wide.js";

/** Every scenario by name; add a file and a line here. */
export const SCENARIOS: Record<string, Scenario> = {
  capture,
  "capture-kafka": captureKafka,
  "capture-plugins": capturePlugins,
  clickhouse: clickhouseBench,
  nested,
  events,
  "events-postgres": eventsPostgres,
  wide,
  deep,
  rest,
  parquet,
  delta,
  postgres,
  plugins,
  fleet,
};
