export { type DuckDbOptions, duckdb, duckdbCapabilities } from "./duckdb-destination.js";
