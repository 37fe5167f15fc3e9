import { type Bucket, IdempotencyStrategy, Storage, type StorageOptions } from "@google-cloud/storage";
import { type Failure, type FailureContext, genericFailure } from "../failure.js";
import type { StoreLocation } from "../location.js";
import type { ObjectInfo, ObjectStore, ObjectStoreOptions } from "../object-store.js";
import {
  DEFAULT_TRANSFER,
  eachLimit,
  RemoteStore,
  type StoreBackend,
  type StoreTuning,
  type TransferOptions,
} from "../remote-store.js";
import { type GcsConfig, resolveGcsConfig } from "./gcs-config.js";

/** Errors google-auth-library raises when a credential is refused or unusable. */
const AUTH_ERROR =
  /invalid_grant|invalid_client|unauthorized_client|Could not load the default credentials|private key|DECODER routines|PEM|Invalid JWT/i;

interface GcsError {
  code?: number | string;
  message?: string;
  errors?: { reason?: string; message?: string }[];
  response?: { status?: number };
}

/** Marks a 404 that was checked to mean the bucket itself is missing. */
class MissingBucket extends Error {
  override name = "MissingBucket";
}

/** No access token could be had for the configured credentials. */
class AuthFailure extends Error {
  override name = "AuthFailure";
}

function status(err: unknown): number | undefined {
  const e = err as GcsError;
  if (typeof e?.code === "number") return e.code;
  return e?.response?.status;
}

/**
 * Google Cloud Storage (and fake-gcs-server) through `@google-cloud/storage`: files larger than `partSize` upload
 * as resumable uploads streamed from disk; writes are whole-object replacements, so the SDK is told to retry
 * them too.
 *
 * @example
 * const backend = new GcsBackend(resolveGcsConfig({ endpoint: "http://127.0.0.1:4443" }), "lake");
 */
export class GcsBackend implements StoreBackend {
  readonly context: Omit<FailureContext, "url">;
  readonly #bucket: Bucket;
  readonly #transfer: TransferOptions;
  readonly #storage: Storage;
  readonly #config: GcsConfig;
  /** Set once the bucket is known to exist: a 404 then means a missing object. */
  #bucketSeen = false;
  #authorized: Promise<void> | undefined;

  constructor(config: GcsConfig, bucket: string, transfer: TransferOptions = DEFAULT_TRANSFER) {
    this.#transfer = transfer;
    const options: StorageOptions = {
      retryOptions: {
        autoRetry: true,
        maxRetries: 3,
        retryDelayMultiplier: 2,
        maxRetryDelay: 8,
        totalTimeout: 600,
        idempotencyStrategy: IdempotencyStrategy.RetryAlways,
      },
      userAgent: "ferry",
    };
    if (config.endpoint) {
      options.apiEndpoint = config.endpoint;
      options.useAuthWithCustomEndpoint = config.authenticate;
    }
    if (config.credentials) options.credentials = config.credentials;
    if (config.projectId) options.projectId = config.projectId;
    this.#config = config;
    this.#storage = new Storage(options);
    // With STORAGE_EMULATOR_HOST in the process environment, the SDK takes that variable as is as its JSON API
    // base URL (without /storage/v1, and without a scheme when the variable has none); uploads use the endpoint.
    // Both must agree: the JSON API lives under /storage/v1 of the endpoint.
    if (config.endpoint)
      (this.#storage as unknown as { baseUrl: string }).baseUrl = `${config.endpoint}/storage/v1`;
    this.#bucket = this.#storage.bucket(bucket);
    this.context = {
      kind: "gcs",
      bucketWord: "bucket",
      bucket,
      endpoint: config.endpoint ?? "https://storage.googleapis.com",
      hints: {
        accessDenied:
          `check the service account key (${config.credentialsSource ?? "GOOGLE_APPLICATION_CREDENTIALS, or gcloud's application default credentials"}` +
          "): it needs the Storage Object Admin role (storage.objects.create/get/list/delete) on the bucket",
        missingBucket: (b) =>
          `create the bucket "${b}" or fix the bucket name in the URL` +
          (config.endpoint
            ? `; check that STORAGE_EMULATOR_HOST (or the endpoint option) points at the right server`
            : ""),
        unreachable: (e) =>
          `check that the GCS endpoint ${e} is right and running (STORAGE_EMULATOR_HOST or the endpoint option)`,
      },
    };
  }

  /**
   * Gets an access token once before the first request: a bad key or missing credentials then fail with their
   * own error, which the SDK's upload streams would otherwise hide behind a generic one.
   */
  #authorize(): Promise<void> {
    if (!this.#config.authenticate) return Promise.resolve();
    this.#authorized ??= this.#storage.authClient.getAccessToken().then(
      () => undefined,
      (err: unknown) => {
        this.#authorized = undefined;
        const from = this.#config.credentialsSource ?? "application default credentials";
        throw new AuthFailure(`cannot get an access token with ${from}: ${(err as Error)?.message ?? err}`, {
          cause: err,
        });
      },
    );
    return this.#authorized;
  }

  /** After a 404 on an object: throws `MissingBucket` when the bucket is the thing missing. */
  async #checkBucket(err: unknown): Promise<void> {
    if (status(err) !== 404 || this.#bucketSeen) return;
    const [exists] = await this.#bucket.exists();
    if (!exists) throw new MissingBucket(`bucket ${this.#bucket.name} not found`, { cause: err });
    this.#bucketSeen = true;
  }

  /** Runs a bucket-level call (upload, list), where a 404 can only mean the bucket is missing. */
  async #onBucket<T>(fn: () => Promise<T>): Promise<T> {
    await this.#authorize();
    try {
      const result = await fn();
      this.#bucketSeen = true;
      return result;
    } catch (err) {
      if (status(err) === 404)
        throw new MissingBucket(`bucket ${this.#bucket.name} not found`, { cause: err });
      throw err;
    }
  }

  async uploadFile(name: string, localPath: string, size: number): Promise<void> {
    // Larger files go up as a resumable upload streamed in one request (Google's advice: chunked sessions are
    // slower); the file streams from disk, so memory stays flat. A session the SDK cannot resume is started anew.
    // md5 (native) rather than the default crc32c (JavaScript) checks the upload end to end at a fraction of the CPU.
    await this.#onBucket(() =>
      this.#bucket.upload(localPath, {
        destination: name,
        resumable: size > this.#transfer.partSize,
        validation: "md5",
        contentType: "application/octet-stream",
      }),
    );
  }

  async upload(name: string, body: Buffer): Promise<void> {
    await this.#onBucket(() =>
      this.#bucket.file(name).save(body, { resumable: false, contentType: "application/octet-stream" }),
    );
  }

  /** A single-request upload with the precondition `ifGenerationMatch=0` (no live object): 412 when one exists. */
  async uploadIfAbsent(name: string, body: Buffer): Promise<boolean> {
    try {
      await this.#onBucket(() =>
        this.#bucket.file(name).save(body, {
          resumable: false,
          contentType: "application/octet-stream",
          preconditionOpts: { ifGenerationMatch: 0 },
        }),
      );
      return true;
    } catch (err) {
      if (status(err) === 412) return false;
      throw err;
    }
  }

  async download(name: string): Promise<Buffer | undefined> {
    await this.#authorize();
    try {
      const [buf] = await this.#bucket.file(name).download();
      return buf;
    } catch (err) {
      await this.#checkBucket(err);
      if (status(err) === 404) return undefined;
      throw err;
    }
  }

  async downloadToFile(name: string, localPath: string): Promise<boolean> {
    await this.#authorize();
    try {
      await this.#bucket.file(name).download({ destination: localPath });
      return true;
    } catch (err) {
      await this.#checkBucket(err);
      if (status(err) === 404) return false;
      throw err;
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    const [files] = await this.#onBucket(() => this.#bucket.getFiles({ prefix, autoPaginate: true }));
    return files.map((f) => {
      const updated = Date.parse(String(f.metadata.updated ?? ""));
      return {
        key: f.name,
        size: Number(f.metadata.size ?? 0),
        ...(Number.isNaN(updated) ? {} : { modifiedAt: updated }),
      };
    });
  }

  async delete(names: string[]): Promise<void> {
    await this.#authorize();
    await eachLimit(names, 8, async (name) => {
      try {
        await this.#bucket.file(name).delete();
      } catch (err) {
        await this.#checkBucket(err);
        if (status(err) !== 404) throw err;
      }
    });
  }

  classify(err: unknown): Failure {
    const e = err as GcsError;
    const code = status(err);
    const reason = e?.errors?.[0]?.reason;
    const message = (e?.message ?? String(err)).split("\n")[0]!;
    const detail = [code, reason, message].filter((x) => x !== undefined && x !== "").join(" ");
    if (err instanceof MissingBucket) return { kind: "missing_bucket", detail: message };
    if (err instanceof AuthFailure) {
      // A network failure on the way to Google's token service is worth retrying; anything else is the key.
      const net = genericFailure(err, undefined, message);
      return net.kind === "unreachable" || net.kind === "transient"
        ? { kind: "transient", detail: message }
        : { kind: "access_denied", detail: message };
    }
    if (code === 404 && /bucket/i.test(message)) return { kind: "missing_bucket", detail };
    // A resumable session the SDK cannot continue safely: ferry starts a new upload of the whole file.
    if (
      /Initiate a new upload|upload session.*(expired|not found)|FILE_NO_UPLOAD|upload.*mismatch/i.test(
        message,
      )
    ) {
      return { kind: "transient", detail };
    }
    if (code === 401 || code === 403 || AUTH_ERROR.test(message)) return { kind: "access_denied", detail };
    return genericFailure(err, code, detail);
  }

  async close(): Promise<void> {}
}

/**
 * Opens `gs://bucket/prefix` (credentials and endpoint from options or the Google environment variables).
 *
 * @example
 * const store = openGcsStore(parseBucketUrl("gs://lake/raw"), { endpoint: "http://127.0.0.1:4443" });
 */
export function openGcsStore(
  location: StoreLocation,
  options: ObjectStoreOptions = {},
  tuning: StoreTuning = {},
): ObjectStore {
  const backend = new GcsBackend(resolveGcsConfig(options), location.bucket, tuning.transfer);
  return new RemoteStore(backend, location, tuning.retry);
}
