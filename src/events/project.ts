import type { PluginSpec } from "./plugins/plugin-config.js";

/**
 * A project of `ferry serve`: clients send with its token (PostHog's project API key) and its events land in its
 * dataset.
 *
 * @example
 * { token: "phc_abc", dataset: "web", materialize: ["$browser", "$current_url"] }
 */
export interface Project {
  readonly token: string;
  /** The dataset (schema) its tables go to; default `posthog`. */
  readonly dataset: string;
  /** Event properties that also get a typed column of their own in `events` (`$browser` -> `mat_browser`). */
  readonly materialize: readonly string[];
  /** Plugins its events go through, in order (`plugins:` in ferry.yaml; docs/plugins.md). */
  readonly plugins?: readonly PluginSpec[];
}
