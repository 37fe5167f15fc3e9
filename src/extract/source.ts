import type { SchemaContractSetting } from "../schema/types.js";
import { brand, isKind } from "../util/brand.js";
import type { Resource } from "./resource.js";

export interface SourceOptions {
  name: string;
  resources: Resource[];
  schemaContract?: SchemaContractSetting;
  maxTableNesting?: number;
}

/**
 * A named group of resources that share one schema.
 *
 * @example
 * const gh = source({ name: "github", resources: [issues, comments] });
 * await p.run(gh.select("issues"));
 */
export class Source {
  readonly name: string;
  readonly resources: readonly Resource[];
  readonly schemaContract: SchemaContractSetting | undefined;
  readonly maxTableNesting: number | undefined;

  constructor(options: SourceOptions) {
    if (!options.name) throw new TypeError("a source needs a name");
    const seen = new Set<string>();
    for (const r of options.resources) {
      if (seen.has(r.name))
        throw new TypeError(`source "${options.name}" has two resources named "${r.name}"`);
      seen.add(r.name);
    }
    this.name = options.name;
    this.resources = Object.freeze([...options.resources]);
    this.schemaContract = options.schemaContract;
    this.maxTableNesting = options.maxTableNesting;
  }

  resource(name: string): Resource | undefined {
    return this.resources.find((r) => r.name === name);
  }

  /** A copy in which only the named resources are selected (their parents still run to feed them). */
  select(...names: string[]): Source {
    const unknown = names.filter((n) => !this.resource(n));
    if (unknown.length > 0) {
      throw new TypeError(
        `source "${this.name}" has no resource ${unknown.map((n) => `"${n}"`).join(", ")}; it has ${this.resources.map((r) => r.name).join(", ")}`,
      );
    }
    return new Source({
      name: this.name,
      resources: this.resources.map((r) => r.with({ selected: names.includes(r.name) })),
      ...(this.schemaContract !== undefined ? { schemaContract: this.schemaContract } : {}),
      ...(this.maxTableNesting !== undefined ? { maxTableNesting: this.maxTableNesting } : {}),
    });
  }
}
brand(Source, "source");

export function source(options: SourceOptions): Source {
  return new Source(options);
}

/** True for sources, also those created by another copy of the package (a user module's own import). */
export const isSource = (x: unknown): x is Source => isKind(x, "source");
