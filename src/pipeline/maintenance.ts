import { rm } from "node:fs/promises";
import type { PipelineState } from "../package/state.js";
import { SYSTEM_TABLES } from "../schema/types.js";
import type { PipelineContext } from "./context.js";

/** Drops packages whose extraction never finished; restores state from the destination on a new machine. */
export async function prepareWorkingDir(ctx: PipelineContext): Promise<void> {
  for (const pkg of await ctx.store.list()) {
    if ((await pkg.stage()) === "extracting") {
      ctx.log.warn(
        `discarding load package ${pkg.loadId}: its extraction was interrupted (it will be extracted again)`,
      );
      await pkg.remove();
    }
  }
  await ctx.refresh();
  if (!ctx.committedState() && (await ctx.store.list()).length === 0)
    await restoreFromDestination(ctx, false);
}

/** Writes the destination's latest state and schemas of this pipeline into the working dir. */
export async function restoreFromDestination(ctx: PipelineContext, force: boolean): Promise<boolean> {
  const client = await ctx.connect();
  try {
    const stored = await client.getStoredState(ctx.name);
    if (!stored) {
      if (force) ctx.log.warn(`destination has no state for pipeline "${ctx.name}"`);
      return false;
    }
    const state = JSON.parse(stored.state) as PipelineState;
    for (const name of state.schemaNames) {
      const schema = await client.getStoredSchema(name);
      if (schema) await ctx.local.writeSchema(schema);
    }
    await ctx.local.writeState(state);
    ctx.log.info(
      `restored state and schema of pipeline "${ctx.name}" from the destination (load ${stored.loadId})`,
    );
    await ctx.refresh();
    return true;
  } finally {
    await client.close();
  }
}

/**
 * Drops the pipeline's tables (all its schemas) from the destination, the system tables when nothing else is
 * left in the dataset, and the working dir.
 */
export async function dropEverything(ctx: PipelineContext): Promise<string[]> {
  await ctx.refresh();
  const dropped: string[] = [];
  const client = await ctx.connect();
  try {
    const existing = new Set(await client.listTables());
    for (const name of ctx.committedState()?.schemaNames ?? []) {
      const schema = (await ctx.local.readSchema(name)) ?? (await client.getStoredSchema(name));
      // Children first, so no table is dropped before the ones that point at it.
      const tables = Object.values(schema?.tables ?? {})
        .map((t) => t.name)
        .reverse();
      const present = tables.filter((t) => existing.has(t));
      await client.dropTables(present);
      dropped.push(...present);
    }
    const system: string[] = Object.values(SYSTEM_TABLES).filter((t) => existing.has(t));
    const others = [...existing].filter((t) => !dropped.includes(t) && !system.includes(t));
    // System tables are shared by every pipeline of the dataset: drop them only when nothing else is left.
    if (others.length === 0) {
      await client.dropTables(system);
      dropped.push(...system);
    }
  } finally {
    await client.close();
  }
  await rm(ctx.dir, { recursive: true, force: true });
  return dropped;
}
