export { duckdb, duckdbCapabilities, type DuckDbOptions } from "./duckdb-destination.js";
