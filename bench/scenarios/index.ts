import { deep } from "./deep.js";
import { events } from "./events.js";
import { nested } from "./nested.js";
import { rest } from "./rest.js";
import type { Scenario } from "./scenario.js";
import { wide } from "./wide.js";

/** Every scenario by name; add a file and a line here. */
export const SCENARIOS: Record<string, Scenario> = { nested, events, wide, deep, rest };
