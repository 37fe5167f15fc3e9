import { createReadStream, createWriteStream } from "node:fs";
import { readFile } from "node:fs/promises";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ServiceException,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { defaultEnvironment } from "../../config/environment.js";
import { type Failure, type FailureContext, genericFailure } from "../failure.js";
import type { StoreLocation } from "../location.js";
import type { ObjectInfo, ObjectStore, ObjectStoreOptions } from "../object-store.js";
import {
  DEFAULT_TRANSFER,
  RemoteStore,
  type StoreBackend,
  type StoreTuning,
  type TransferOptions,
} from "../remote-store.js";
import { resolveS3Config, type S3Config } from "./s3-config.js";

const MISSING_BUCKET = new Set(["NoSuchBucket"]);
const ACCESS_DENIED = new Set([
  "AccessDenied",
  "InvalidAccessKeyId",
  "SignatureDoesNotMatch",
  "ExpiredToken",
  "InvalidToken",
  "TokenRefreshRequired",
  "AuthorizationHeaderMalformed",
  "CredentialsProviderError",
  "AllAccessDisabled",
]);
const THROTTLED = new Set([
  // A conditional write raced another on the same key: S3 asks to retry it.
  "ConditionalRequestConflict",
  "SlowDown",
  "Throttling",
  "ThrottlingException",
  "RequestTimeout",
  "TimeoutError",
]);

/**
 * S3 and S3-compatible stores (R2, MinIO ...) through the AWS SDK v3: multipart uploads via `@aws-sdk/lib-storage`
 * (parts of `partSize`, `concurrency` in flight, each part retried by the SDK), listing with ListObjectsV2,
 * batched DeleteObjects.
 *
 * @example
 * const backend = new S3Backend(resolveS3Config({ endpoint: "http://127.0.0.1:9000" }), "lake");
 */
export class S3Backend implements StoreBackend {
  readonly context: Omit<FailureContext, "url">;
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #transfer: TransferOptions;

  constructor(config: S3Config, bucket: string, transfer: TransferOptions = DEFAULT_TRANSFER) {
    this.#bucket = bucket;
    this.#transfer = transfer;
    const custom = config.endpoint !== undefined;
    // The SDK warns once per process that its releases after January 2027 need Node 22: news for ferry's
    // maintainers (who pin the SDK), not for its users. Set the variable to "false" to see it.
    defaultEnvironment("AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED", "true");
    this.#client = new S3Client({
      region: config.region,
      ...(custom ? { endpoint: config.endpoint, forcePathStyle: true } : {}),
      ...(config.credentials ? { credentials: config.credentials } : {}),
      maxAttempts: 4,
      retryMode: "standard",
      requestHandler: { connectionTimeout: 10_000, requestTimeout: 120_000 },
      // S3-compatible stores do not all accept the newer CRC checksums; send them only where S3 requires one.
      ...(custom
        ? { requestChecksumCalculation: "WHEN_REQUIRED", responseChecksumValidation: "WHEN_REQUIRED" }
        : {}),
      customUserAgent: "ferry",
    });
    const endpoint = config.endpoint ?? `https://s3.${config.region}.amazonaws.com`;
    this.context = {
      kind: "s3",
      bucketWord: "bucket",
      bucket,
      endpoint,
      hints: {
        accessDenied:
          "check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary credentials) or the " +
          "credentials option, and AWS_REGION; the key needs s3:GetObject, s3:PutObject, s3:DeleteObject and " +
          "s3:ListBucket on the bucket",
        missingBucket: (b) =>
          `create the bucket "${b}" or fix the bucket name in the URL` +
          (custom ? `; check that AWS_ENDPOINT_URL (or the endpoint option) points at the right store` : ""),
        unreachable: (e) =>
          `check that the S3 endpoint ${e} is right and running (AWS_ENDPOINT_URL or the endpoint option)`,
      },
    };
  }

  async uploadFile(name: string, localPath: string, size: number): Promise<void> {
    if (size <= this.#transfer.partSize) {
      await this.upload(name, await readFile(localPath));
      return;
    }
    const upload = new Upload({
      client: this.#client,
      params: { Bucket: this.#bucket, Key: name, Body: createReadStream(localPath) },
      partSize: this.#transfer.partSize,
      queueSize: this.#transfer.concurrency,
      leavePartsOnError: false,
    });
    await upload.done();
  }

  async upload(name: string, body: Buffer): Promise<void> {
    await this.#client.send(new PutObjectCommand({ Bucket: this.#bucket, Key: name, Body: body }));
  }

  /** PutObject with `If-None-Match: *` (S3 since 2024, R2, MinIO): 412 when the key exists. */
  async uploadIfAbsent(name: string, body: Buffer): Promise<boolean> {
    try {
      await this.#client.send(
        new PutObjectCommand({ Bucket: this.#bucket, Key: name, Body: body, IfNoneMatch: "*" }),
      );
      return true;
    } catch (err) {
      const e = err as Partial<S3ServiceException>;
      if (e.$metadata?.httpStatusCode === 412 || e.name === "PreconditionFailed") return false;
      throw err;
    }
  }

  async #getObject(name: string) {
    try {
      return await this.#client.send(new GetObjectCommand({ Bucket: this.#bucket, Key: name }));
    } catch (err) {
      if ((err as S3ServiceException).name === "NoSuchKey") return undefined;
      throw err;
    }
  }

  async download(name: string): Promise<Buffer | undefined> {
    const res = await this.#getObject(name);
    if (!res?.Body) return undefined;
    return Buffer.from(await res.Body.transformToByteArray());
  }

  async downloadToFile(name: string, localPath: string): Promise<boolean> {
    const res = await this.#getObject(name);
    if (!res?.Body) return false;
    await pipeline(res.Body as Readable, createWriteStream(localPath));
    return true;
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    const out: ObjectInfo[] = [];
    let token: string | undefined;
    do {
      const res = await this.#client.send(
        new ListObjectsV2Command({ Bucket: this.#bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const o of res.Contents ?? [])
        if (o.Key !== undefined)
          out.push({
            key: o.Key,
            size: o.Size ?? 0,
            ...(o.LastModified ? { modifiedAt: o.LastModified.getTime() } : {}),
          });
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (token);
    return out;
  }

  async delete(names: string[]): Promise<void> {
    for (let i = 0; i < names.length; i += 1000) {
      const batch = names.slice(i, i + 1000);
      const res = await this.#client.send(
        new DeleteObjectsCommand({
          Bucket: this.#bucket,
          Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
        }),
      );
      const failed = (res.Errors ?? []).filter((e) => e.Code !== "NoSuchKey");
      if (failed.length > 0) {
        const first = failed[0]!;
        throw Object.assign(
          new Error(`${first.Code}: ${first.Message} (${failed.length} object(s) not deleted)`),
          {
            name: first.Code ?? "DeleteError",
          },
        );
      }
    }
  }

  classify(err: unknown): Failure {
    const e = err as Partial<S3ServiceException> & { Code?: string };
    const code = e.Code ?? e.name ?? "Error";
    const status = e.$metadata?.httpStatusCode;
    const message = e.message && e.message !== "UnknownError" ? e.message : `HTTP ${status ?? "error"}`;
    const detail = `${code}: ${message}`;
    if (MISSING_BUCKET.has(code)) return { kind: "missing_bucket", detail };
    if (ACCESS_DENIED.has(code)) return { kind: "access_denied", detail };
    if (THROTTLED.has(code) || e.$retryable) return { kind: "transient", detail };
    return genericFailure(err, status, detail);
  }

  async close(): Promise<void> {
    this.#client.destroy();
  }
}

/**
 * Opens `s3://bucket/prefix` (credentials and endpoint from options or the AWS environment variables).
 *
 * @example
 * const store = openS3Store(parseBucketUrl("s3://lake/raw"), { endpoint: "http://127.0.0.1:9000" });
 */
export function openS3Store(
  location: StoreLocation,
  options: ObjectStoreOptions = {},
  tuning: StoreTuning = {},
): ObjectStore {
  const backend = new S3Backend(resolveS3Config(options), location.bucket, tuning.transfer);
  return new RemoteStore(backend, location, tuning.retry);
}
