import { Counter, Gauge, Histogram, Registry } from "prom-client";

/**
 * The push door's Prometheus metrics (`GET /metrics`), one registry per server so that tests and several servers in
 * one process do not share counters.
 *
 * @example
 * const m = new EventMetrics();
 * m.received.inc(50);
 * res.end(await m.registry.metrics());
 */
export class EventMetrics {
  readonly registry = new Registry();
  /** Events in requests that reached a capture route (before validation). */
  readonly received = new Counter({
    name: "ferry_events_received_total",
    help: "Events received by capture routes",
    registers: [this.registry],
  });
  /** Events written to the log and acknowledged to the client. */
  readonly accepted = new Counter({
    name: "ferry_events_accepted_total",
    help: "Events acknowledged durably (in the event log)",
    registers: [this.registry],
  });
  /** Requests refused, by reason (`invalid_payload`, `missing_distinct_id`, `unknown_token`, `too_large`, ...). */
  readonly rejected = new Counter({
    name: "ferry_requests_rejected_total",
    help: "Capture requests refused, by reason",
    labelNames: ["reason"] as const,
    registers: [this.registry],
  });
  /** Request body bytes as sent (compressed). */
  readonly bytes = new Counter({
    name: "ferry_capture_bytes_total",
    help: "Bytes of capture request bodies as sent",
    registers: [this.registry],
  });
  /** Events already in the log that a retried request sent again (not appended twice). */
  readonly duplicates = new Counter({
    name: "ferry_events_duplicate_total",
    help: "Events dropped at capture because their uuid is in the dedup window",
    registers: [this.registry],
  });
  readonly loaded = new Counter({
    name: "ferry_events_loaded_total",
    help: "Events loaded into the destination",
    registers: [this.registry],
  });
  readonly logBytes = new Gauge({
    name: "ferry_log_bytes",
    help: "Bytes of the event log on disk",
    registers: [this.registry],
  });
  readonly lagEvents = new Gauge({
    name: "ferry_consumer_lag_events",
    help: "Events in the log not loaded yet",
    registers: [this.registry],
  });
  /** Seconds from a batch's read to its commit in the destination. */
  readonly loadSeconds = new Histogram({
    name: "ferry_load_duration_seconds",
    help: "Duration of one micro-batch load",
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
    registers: [this.registry],
  });
  /** Seconds from an event's acknowledgement to its being queryable. */
  readonly visibilitySeconds = new Histogram({
    name: "ferry_visibility_latency_seconds",
    help: "Time from acknowledgement to queryable in the destination",
    buckets: [0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30, 60],
    registers: [this.registry],
  });
}
