/** One benchmark scenario: a small file that runs a workload and reports what it moved. */
export interface Scenario {
  name: string;
  defaultRecords: number;
  run(ctx: { records: number; dir: string }): Promise<ScenarioResult>;
}

export interface ScenarioResult {
  records: number;
  rows: number;
  stagesMs?: Record<string, number>;
  /** The timed part (without preparing input data); rates use it. Defaults to the whole run. */
  measuredMs?: number;
  /** Input bytes, for MB/s. */
  bytes?: number;
  /** Anything else worth printing (requests/s, CPU per request, the floor...). */
  extra?: Record<string, number | string>;
}
