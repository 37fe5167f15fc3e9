/**
 * The real Delta Lake reader for Delta tests: Python's `deltalake` (delta-rs) with pyarrow, from the venv
 * `scripts/services.sh up python` makes (FERRY_TEST_PYTHON). A script opens a table, reads it whole and prints its
 * version, schema, rows (JSON-safe: timestamps and dates as ISO text, decimals as text, bytes as hex), history and
 * files as JSON.
 */
import { spawn, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

/** The pinned deltalake (scripts/services/python.sh). */
export const DELTALAKE_VERSION = "1.6.6";

/**
 * The venv's python when it has the pinned deltalake, else a skip reason. Under `CI=true` a missing venv is an
 * error, not a skip (CI makes it with `scripts/services.sh up python`), as for the test servers.
 */
export function deltaPython(): { python: string; skip: string | false } {
  const python = process.env.FERRY_TEST_PYTHON ?? "";
  const fix = 'run `scripts/services.sh up python` and `eval "$(scripts/services.sh env)"`';
  let why: string | undefined;
  if (python === "") why = `FERRY_TEST_PYTHON is not set (${fix})`;
  else {
    const r = spawnSync(python, ["-c", "import deltalake, pyarrow; print(deltalake.__version__)"], {
      encoding: "utf8",
      timeout: 60_000,
    });
    const version = r.stdout?.trim();
    if (r.status !== 0)
      why = `${python} cannot import deltalake (${fix}): ${(r.stderr || String(r.error)).trim()}`;
    else if (version !== DELTALAKE_VERSION)
      why = `${python} has deltalake ${version}, the tests pin ${DELTALAKE_VERSION} (${fix})`;
  }
  if (why === undefined) return { python, skip: false };
  if (process.env.CI === "true") throw new Error(`CI=true but ${why}`);
  return { python, skip: why };
}

const READER = `
import datetime, decimal, json, os, sys
from deltalake import DeltaTable

uri, options, order = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
dt = DeltaTable(uri, storage_options=options or None)
table = dt.to_pyarrow_table()
if order:
    table = table.sort_by([(c, "ascending") for c in order])

def safe(v):
    if isinstance(v, datetime.datetime):
        return v.isoformat()
    if isinstance(v, (datetime.date, datetime.time)):
        return v.isoformat()
    if isinstance(v, decimal.Decimal):
        return str(v)
    if isinstance(v, bytes):
        return v.hex()
    return v

rows = [{k: safe(v) for k, v in r.items()} for r in table.to_pylist()]
history = [
    {"version": h.get("version"), "operation": h.get("operation"), "ferry": h.get("ferry"),
     "parameters": h.get("operationParameters")}
    for h in dt.history()
]
schema = [{"name": f.name, "type": str(f.type.type) if hasattr(f.type, "type") else str(f.type)} for f in dt.schema().fields]
arrow = {f.name: str(f.type) for f in table.schema}
print(json.dumps({"version": dt.version(), "rows": rows, "schema": schema, "arrow": arrow,
                  "history": history, "files": len(dt.file_uris())}, default=str))
sys.stdout.flush()
# delta-rs's runtime threads can abort the interpreter's shutdown ("terminate called without an active exception"):
# the answer is out, leave at once.
os._exit(0)
`;

/** What the reader saw of a table. */
export interface DeltaRead {
  version: number;
  rows: Array<Record<string, unknown>>;
  /** Delta schema: name and Delta type (`long`, `string`, `decimal(18,2)` ...). */
  schema: Array<{ name: string; type: string }>;
  /** The Arrow type of each column as pyarrow read it (`int64`, `timestamp[us, tz=UTC]` ...). */
  arrow: Record<string, string>;
  /** Newest first. */
  history: Array<{
    version: number;
    operation: string;
    ferry?: { loadId: string; pipeline: string; undoes?: number };
    parameters?: Record<string, unknown>;
  }>;
  /** Live data files. */
  files: number;
}

/**
 * Reads a table with deltalake. `uri`: a local path, or `s3://bucket/prefix/table` with `options` (deltalake's
 * storage options: endpoint, keys, `AWS_ALLOW_HTTP`). `orderBy` sorts the rows.
 *
 * @example
 * const t = await readDelta(python, "/tmp/lake/ds/users", {}, ["id"]);
 */
export function readDelta(
  python: string,
  uri: string,
  options: Record<string, string> = {},
  orderBy: string[] = [],
  env: Record<string, string> = {},
): Promise<DeltaRead> {
  return new Promise((resolve, reject) => {
    const child = spawn(python, ["-c", READER, uri, JSON.stringify(options), JSON.stringify(orderBy)], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ...env, PYTHONDONTWRITEBYTECODE: "1" },
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
      if (code !== 0)
        return reject(new Error(`deltalake could not read ${uri} (exit ${code}): ${err}${out}`));
      resolve(JSON.parse(out.trim().split("\n").at(-1) as string) as DeltaRead);
    });
  });
}

/** How deltalake reaches the tables under one root of a test backend. */
export interface DeltaReaderTarget {
  /** The URI of a table (`<dataset>/<table>` under the root). */
  uri(path: string): string;
  options: Record<string, string>;
  env: Record<string, string>;
}

/**
 * deltalake's way to the root of a test backend: a local folder, or the S3 (MinIO), Azure (Azurite) and GCS
 * (fake-gcs-server) emulators through its storage options, from the environment a store reads.
 *
 * @example
 * const at = deltaReaderTarget("s3", root.url, root.env);
 * await readDelta(python, at.uri("lake/users"), at.options, ["id"], at.env);
 */
export function deltaReaderTarget(
  backend: string,
  rootUrl: string,
  env: Record<string, string>,
): DeltaReaderTarget {
  const under = (path: string) => `${rootUrl.replace(/\?.*$/, "").replace(/\/+$/, "")}/${path}`;
  switch (backend) {
    case "local":
      return { uri: (path) => `${fileURLToPath(rootUrl)}/${path}`, options: {}, env: {} };
    case "s3":
      return {
        uri: under,
        options: {
          AWS_ENDPOINT_URL: env.AWS_ENDPOINT_URL ?? "",
          AWS_ACCESS_KEY_ID: env.AWS_ACCESS_KEY_ID ?? "",
          AWS_SECRET_ACCESS_KEY: env.AWS_SECRET_ACCESS_KEY ?? "",
          AWS_REGION: env.AWS_REGION ?? "us-east-1",
          AWS_ALLOW_HTTP: "true",
        },
        env: {},
      };
    case "azure":
      return {
        uri: under,
        options: {
          account_name: env.AZURE_STORAGE_ACCOUNT_NAME ?? "",
          account_key: env.AZURE_STORAGE_ACCOUNT_KEY ?? "",
          use_emulator: "true",
        },
        // The emulator's blob endpoint without the account path.
        env: {
          AZURITE_BLOB_STORAGE_URL: new URL(env.AZURE_STORAGE_ENDPOINT ?? "http://127.0.0.1:10000").origin,
        },
      };
    case "gcs":
      return {
        uri: under,
        options: {
          google_base_url: env.STORAGE_EMULATOR_HOST ?? "",
          google_skip_signature: "true",
          allow_http: "true",
        },
        env: {},
      };
    default:
      throw new Error(`no Delta reader settings for backend ${backend}`);
  }
}

/**
 * Runs a Python snippet with the venv (deltalake and pyarrow importable), e.g. to make a table as another writer
 * would. Rejects with its output when it fails.
 *
 * @example
 * await runPython(python, "from deltalake import write_deltalake; ...");
 */
export function runPython(python: string, code: string): Promise<string> {
  return new Promise((resolve, reject) => {
    // delta-rs's runtime threads can abort the interpreter's shutdown: leave at once when the snippet is done.
    const child = spawn(python, ["-c", `${code}\nimport os, sys\nsys.stdout.flush()\nos._exit(0)\n`], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, PYTHONDONTWRITEBYTECODE: "1" },
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d;
    });
    child.stderr.on("data", (d: Buffer) => {
      out += d;
    });
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0 ? resolve(out) : reject(new Error(`python exited with ${code}: ${out}`)),
    );
  });
}
