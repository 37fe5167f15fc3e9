import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { errorMessage, FerryError } from "../../util/errors.js";
import type { Logger } from "../../util/log.js";
import { Semaphore } from "../../util/semaphore.js";
import { webhookAlerter } from "../alerts.js";
import type { TargetLoader } from "../job-runner.js";
import type { JobsConfig } from "../jobs-config.js";
import type { WorkingStore } from "../working-store.js";
import { createActivities, jobsByName } from "./activities.js";
import { connectClient, temporalAddress } from "./connect.js";
import { temporalPackage } from "./sdk.js";

export interface TemporalWorkerOptions {
  /** HOST:PORT of the Temporal frontend. */
  address: string;
  namespace: string;
  taskQueue: string;
  config: JobsConfig;
  load: TargetLoader;
  working: WorkingStore;
  logger: Logger;
  /** Steps run at once by this worker (bounded: one worker serves thousands of pipelines). */
  maxActivities: number;
  /** Stops the worker: steps under way finish (up to the grace time), then it returns. */
  signal: AbortSignal;
  /** Called once the worker polls its task queue. */
  onReady?: () => void;
}

/** The compiled workflow module (dist/), or its source when ferry runs from a checkout through tsx. */
function workflowsPath(): string {
  const js = fileURLToPath(new URL("./workflows.js", import.meta.url));
  return existsSync(js) ? js : fileURLToPath(new URL("./workflows.ts", import.meta.url));
}

let runtimeInstalled = false;

/**
 * `ferry worker`: polls the task queue and runs pipeline runs (workflow `ferryPipelineRun`) and their steps
 * (activities) until `signal` aborts.
 *
 * @example
 * await runTemporalWorker({ address: "127.0.0.1:7233", namespace: "default", taskQueue: "ferry", config, load,
 *   working: sharedDisk, logger, maxActivities: 8, signal });
 */
export async function runTemporalWorker(o: TemporalWorkerOptions): Promise<void> {
  const sdk = await temporalPackage<typeof import("@temporalio/worker")>("@temporalio/worker");
  const activity = await temporalPackage<typeof import("@temporalio/activity")>("@temporalio/activity");
  const client = await temporalPackage<typeof import("@temporalio/client")>("@temporalio/client");
  if (!runtimeInstalled) {
    // The SDK's own lines (worker state changes) go to ferry's logger, warnings and up.
    sdk.Runtime.install({
      logger: new sdk.DefaultLogger("WARN", (entry) => o.logger.warn(`temporal: ${entry.message}`)),
    });
    runtimeInstalled = true;
  }
  const address = temporalAddress(o.address);
  let connection: import("@temporalio/worker").NativeConnection;
  try {
    connection = await sdk.NativeConnection.connect({ address });
  } catch (err) {
    throw connectionError(address, err);
  }
  const temporalClient = await connectClient(address, o.namespace);
  const alerts = webhookAlerter({
    ...(o.config.alerts.webhook ? { webhook: o.config.alerts.webhook } : {}),
    logger: o.logger,
  });
  try {
    const worker = await sdk.Worker.create({
      connection,
      namespace: o.namespace,
      taskQueue: o.taskQueue,
      workflowsPath: workflowsPath(),
      activities: createActivities({
        jobs: jobsByName(o.config.pipelines),
        load: o.load,
        working: o.working,
        alerts,
        logger: o.logger,
        context: () => activity.Context.current(),
        ApplicationFailure: client.ApplicationFailure,
        client: () => temporalClient,
        slots: new Semaphore(o.maxActivities),
      }),
      // Many more slots than steps run at once (the semaphore above bounds those): a worker with free slots gets a
      // run's next step eagerly, without a poll's round trip (docs/benchmarks.md, `fleet`).
      maxConcurrentActivityTaskExecutions: Math.max(100, 4 * o.maxActivities),
      // Workflow tasks are short (they only schedule the steps): a few at once keep thousands of runs moving.
      maxConcurrentWorkflowTaskExecutions: 10,
      shutdownGraceTime: "30 seconds",
    });
    // runUntil shuts the worker down (steps under way get the grace time) once the promise resolves.
    await worker.runUntil(
      new Promise<void>((resolve) => {
        o.onReady?.();
        if (o.signal.aborted) resolve();
        o.signal.addEventListener("abort", () => resolve(), { once: true });
      }),
    );
  } finally {
    await alerts.flush(10_000);
    await temporalClient.connection.close().catch(() => undefined);
    await connection.close().catch(() => undefined);
  }
}

function connectionError(address: string, err: unknown): Error {
  return new FerryError(`cannot reach Temporal at ${address}: ${errorMessage(err)}`, {
    cause: err,
    transient: true,
    hint: "check --temporal HOST:PORT and that the Temporal server runs (for development: temporal server start-dev)",
  });
}
