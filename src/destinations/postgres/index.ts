export {
  type PostgresOptions,
  postgres,
  postgresCapabilities,
  stagingSchema,
} from "./postgres-destination.js";
