// Loaded with `--import` by the bench's worker processes: ferry's own modules (`src/**`) resolve to the built
// package in `dist/`, so scenarios measure what users run (plain JS, normalize workers without a TypeScript
// loader), while the scenarios themselves stay TypeScript. `npm run bench` builds first.
import { register } from "node:module";

register("./dist-resolve.mjs", import.meta.url);
