/**
 * The SQL database source: `import { sqlDatabase, sqlTable } from "ferry/sources/sql-database"`.
 * Postgres (`postgres://`, `postgresql://`) and MySQL/MariaDB (`mysql://`, `mariadb://`).
 */

export { connectEngine } from "./connect-engine.js";
export { parseSqlUrl, type SqlUrl } from "./connection-url.js";
export {
  recordKey,
  type SqlColumn,
  type SqlCursorRange,
  type SqlEngine,
  type SqlLocation,
  type SqlReadOptions,
  type SqlTableInfo,
} from "./engine.js";
export {
  DEFAULT_CHUNK_SIZE,
  type SqlDatabaseOptions,
  type SqlIncremental,
  type SqlTableOptions,
} from "./options.js";
export { sqlDatabaseFromSpec } from "./spec.js";
export { sqlDatabase, sqlTable } from "./sql-database.js";
