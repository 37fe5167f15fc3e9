/** One benchmark scenario: a small file that runs a workload and reports what it moved. */
export interface Scenario {
  name: string;
  defaultRecords: number;
  /**
   * Makes the scenario's input in `dir`, in a process of its own before the measured one, so generating data
   * (millions of JS objects) neither costs time nor leaves memory in the process that is measured.
   */
  prepare?(ctx: { records: number; dir: string }): Promise<void>;
  /** `peakRssMb()`: the process's peak RSS so far, for scenarios that run a floor after ferry in the same process. */
  run(ctx: { records: number; dir: string; peakRssMb: () => number }): Promise<ScenarioResult>;
}

export interface ScenarioResult {
  records: number;
  rows: number;
  stagesMs?: Record<string, number>;
  /** The timed part (without preparing input data); rates use it. Defaults to the whole run. */
  measuredMs?: number;
  /** Peak RSS of ferry's part, when the scenario runs more than ferry (a floor); default the whole process's. */
  peakRssMb?: number;
  /** Input bytes, for MB/s. */
  bytes?: number;
  /** Anything else worth printing (requests/s, CPU per request, the floor...). */
  extra?: Record<string, number | string>;
}
