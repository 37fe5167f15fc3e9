export {
  type ClickHouseOptions,
  clickhouse,
  clickhouseCapabilities,
  clickhouseStagingDatabase,
} from "./clickhouse-destination.js";
