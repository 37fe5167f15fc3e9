/**
 * The real posthog-python client for `ferry serve` tests: the venv `scripts/services.sh up python` makes
 * (FERRY_TEST_PYTHON), and a script that sends events with it and prints what went over the wire.
 */
import { spawn, spawnSync } from "node:child_process";
import { join } from "node:path";
import type { SentRequest } from "./serve.js";

/** The pinned posthog-python (scripts/services/python.sh). */
export const POSTHOG_PYTHON_VERSION = "7.91.1";

/**
 * The venv's python when it has the pinned posthog package, else a skip reason. Under `CI=true` a missing venv is
 * an error, not a skip (CI makes it with `scripts/services.sh up python`), as for the test servers.
 */
export function posthogPython(): { python: string; skip: string | false } {
  const python = process.env.FERRY_TEST_PYTHON ?? "";
  const fix = 'run `scripts/services.sh up python` and `eval "$(scripts/services.sh env)"`';
  let why: string | undefined;
  if (python === "") why = `FERRY_TEST_PYTHON is not set (${fix})`;
  else {
    const r = spawnSync(python, ["-c", "import posthog; print(posthog.VERSION)"], {
      encoding: "utf8",
      timeout: 60_000,
    });
    const version = r.stdout?.trim();
    if (r.status !== 0)
      why = `${python} cannot import posthog (${fix}): ${(r.stderr || String(r.error)).trim()}`;
    else if (version !== POSTHOG_PYTHON_VERSION)
      why = `${python} has posthog ${version}, the tests pin ${POSTHOG_PYTHON_VERSION} (${fix})`;
  }
  if (why === undefined) return { python, skip: false };
  if (process.env.CI === "true") throw new Error(`CI=true but ${why}`);
  return { python, skip: why };
}

/**
 * Sends with posthog-python: `calls` is Python code run with `client` (a `posthog.Posthog` pointed at `host` with
 * `host=`), then flush and shutdown. The client's own debug log ("making request: <body> to url: <url>") gives each
 * request's JSON body as sent (api_key masked by the client); `on_error` collects upload failures (the
 * client does not retry: max_retries=0, so any answer but 200 is one).
 */
const DRIVER = `
import json, logging, re, sys, uuid
from datetime import datetime, timezone
from posthog import Posthog

host, token, calls = sys.argv[1], sys.argv[2], sys.argv[3]
requests, errors = [], []

class Recorder(logging.Handler):
    def emit(self, record):
        message = record.getMessage()
        made = re.search(r"making request: (.*) to url: (\\S+)$", message, re.S)
        if made:
            requests.append({"body": json.loads(made.group(1)), "url": made.group(2)})

client = Posthog(token, host=host, flush_at=10, flush_interval=0.1, max_retries=0, timeout=60,
                 on_error=lambda err, batch: errors.append(repr(err)))
# The client sets its logger to WARNING unless debug=True (which also prints everything): DEBUG, to our handler only.
log = logging.getLogger("posthog")
log.setLevel(logging.DEBUG)
log.addHandler(Recorder())
log.propagate = False
exec(calls, {"client": client, "datetime": datetime, "timezone": timezone, "uuid": uuid})
client.flush()
client.shutdown()
print(json.dumps({"requests": requests, "errors": errors}))
`;

export interface PythonRun {
  /** Each request's URL and JSON body, as the client logged it before sending. */
  requests: Array<Pick<SentRequest, "url" | "body">>;
  errors: string[];
}

export function sendWithPython(
  python: string,
  host: string,
  token: string,
  calls: string,
): Promise<PythonRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(python, ["-c", DRIVER, host, token, calls], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, PYTHONDONTWRITEBYTECODE: "1" },
      cwd: join(import.meta.dirname, "../.."),
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d;
    });
    child.stderr.on("data", (d: Buffer) => {
      err += d;
    });
    child.on("error", reject);
    child.on("close", (code) => {
      if (code !== 0) return reject(new Error(`python exited with ${code}: ${err}${out}`));
      resolve(JSON.parse(out.trim().split("\n").at(-1) as string) as PythonRun);
    });
  });
}
