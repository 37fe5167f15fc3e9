// Resolve hook for bench/use-dist.mjs: `<repo>/src/x.js` (or `.ts`) -> `<repo>/dist/x.js` when it exists.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const SRC = new URL("../src/", import.meta.url).href;
const DIST = new URL("../dist/", import.meta.url).href;

export async function resolve(specifier, context, next) {
  if (specifier.startsWith(".") && context.parentURL?.startsWith("file:")) {
    const url = new URL(specifier, context.parentURL).href;
    if (url.startsWith(SRC)) {
      const built = `${DIST}${url.slice(SRC.length).replace(/\.ts$/, ".js")}`;
      if (existsSync(fileURLToPath(built))) return { url: built, shortCircuit: true };
    }
  }
  return next(specifier, context);
}
