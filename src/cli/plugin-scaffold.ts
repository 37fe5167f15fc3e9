/** The files `ferry plugin new <name>` writes (`__NAME__` is the plugin's name). */

export const PLUGIN_INDEX = `/**
 * __NAME__: a ferry plugin (PostHog's plugin interface). ferry runs it in a sandbox, once per project that lists it
 * in ferry.yaml; see docs/plugins.md for every hook and what \`meta\` holds.
 */
import type { PluginEvent, PluginMeta } from "ferry";

interface Config {
  /** The event property to remove. */
  property?: string;
}

/** Runs once when the plugin starts (and again if its sandbox had to be made again): check the config here. */
export function setupPlugin({ config }: PluginMeta<Config>): void {
  if (typeof config.property !== "string" || config.property === "")
    throw new Error("__NAME__: config.property (the property to remove) is required");
}

/** Runs on each event before it is stored: return it (changed or not), or null to drop it. */
export function processEvent(event: PluginEvent, { config }: PluginMeta<Config>): PluginEvent | null {
  delete event.properties[config.property as string];
  return event;
}
`;

export const PLUGIN_TEST = `import assert from "node:assert/strict";
import { test } from "node:test";
import { createPageview, pluginHarness } from "ferry/testing";
import * as plugin from "./index.js";

test("processEvent removes the configured property and keeps the others", async () => {
  const h = pluginHarness(plugin, { config: { property: "email" } });
  await h.setup();
  const out = await h.processEvent(createPageview({ properties: { email: "ada@example.com", plan: "pro" } }));
  assert.ok(out);
  assert.equal(out.properties.email, undefined);
  assert.equal(out.properties.plan, "pro");
});

test("setupPlugin refuses a config without a property", async () => {
  const h = pluginHarness(plugin, { config: {} });
  await assert.rejects(h.setup(), /config.property/);
});
`;

export const PLUGIN_README = `# __NAME__

A ferry plugin. Run its unit test (the \`ferry/testing\` harness, in this process):

    npm test          # node --import tsx --test index.test.ts

Run it in ferry's sandbox over sample events (a pageview, an identify, a click, a custom event) and see what it
changes:

    npx ferry plugin test index.ts --config '{"property":"email"}'

Use it in \`ferry serve\` (ferry.yaml):

    serve:
      projects:
        - token: phc_...
          plugins:
            - module: ./__NAME__/index.ts
              config: { property: email }
              on_error: pass        # pass | drop | dead_letter
`;

/** Makes the folder an ES module package, so that `ferry/testing` and the plugin load the same way in every project. */
export const PLUGIN_PACKAGE = `{
  "name": "__NAME__",
  "private": true,
  "type": "module",
  "scripts": {
    "test": "node --import tsx --test index.test.ts"
  }
}
`;
