import { nested } from "./nested.js";
import { rest } from "./rest.js";
import type { Scenario } from "./scenario.js";

/** Every scenario by name; add a file and a line here. */
export const SCENARIOS: Record<string, Scenario> = { nested, rest };
