import {
  AnonymousCredential,
  BlobServiceClient,
  type ContainerClient,
  RestError,
  StorageSharedKeyCredential,
} from "@azure/storage-blob";
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
import { type AzureConfig, resolveAzureConfig } from "./azure-config.js";

const MISSING_CONTAINER = new Set(["ContainerNotFound", "ContainerBeingDeleted"]);
const MISSING_BLOB = new Set(["BlobNotFound"]);
/** What a conditional write answers when the blob exists. */
const BLOB_EXISTS = new Set(["BlobAlreadyExists", "ConditionNotMet"]);
const ACCESS_DENIED = new Set([
  "AuthenticationFailed",
  "AuthorizationFailure",
  "AuthorizationPermissionMismatch",
  "AuthorizationProtocolMismatch",
  "AuthorizationResourceTypeMismatch",
  "AuthorizationServiceMismatch",
  "AuthorizationSourceIPMismatch",
  "InsufficientAccountPermissions",
  "InvalidAuthenticationInfo",
  "AccountIsDisabled",
]);
const BUSY = new Set(["ServerBusy", "OperationTimedOut", "InternalError", "REQUEST_SEND_ERROR"]);

function errorCode(err: unknown): string | undefined {
  if (!(err instanceof RestError)) return (err as { code?: string })?.code;
  const details = err.details as { errorCode?: string } | undefined;
  return details?.errorCode ?? err.code;
}

/**
 * Azure Blob Storage (and Azurite) through `@azure/storage-blob`: files upload as block blobs (blocks of
 * `partSize`, `concurrency` in flight, read from disk per block), every request retried by the SDK's policy.
 *
 * @example
 * const backend = new AzureBackend(resolveAzureConfig(), "lake");
 */
export class AzureBackend implements StoreBackend {
  readonly context: Omit<FailureContext, "url">;
  readonly #container: ContainerClient;
  readonly #transfer: TransferOptions;

  constructor(config: AzureConfig, container: string, transfer: TransferOptions = DEFAULT_TRANSFER) {
    this.#transfer = transfer;
    const credential = config.accountKey
      ? new StorageSharedKeyCredential(config.accountName, config.accountKey)
      : new AnonymousCredential();
    const url =
      config.accountKey || !config.sasToken ? config.endpoint : `${config.endpoint}?${config.sasToken}`;
    const service = new BlobServiceClient(url, credential, {
      retryOptions: { maxTries: 4, retryDelayInMs: 400, maxRetryDelayInMs: 8000, tryTimeoutInMs: 300_000 },
      userAgentOptions: { userAgentPrefix: "ferry" },
    });
    this.#container = service.getContainerClient(container);
    this.context = {
      kind: "azure",
      bucketWord: "container",
      bucket: container,
      endpoint: config.endpoint,
      hints: {
        accessDenied:
          "check AZURE_STORAGE_CONNECTION_STRING, or AZURE_STORAGE_ACCOUNT_NAME and AZURE_STORAGE_ACCOUNT_KEY (or " +
          "AZURE_STORAGE_SAS_TOKEN: it needs read, write, delete and list permissions), or the credentials option",
        missingBucket: (c) =>
          `create the container "${c}" in storage account "${config.accountName}" or fix the container name in the URL`,
        unreachable: (e) =>
          `check that the blob endpoint ${e} is right and running (AZURE_STORAGE_ENDPOINT, the connection ` +
          "string's BlobEndpoint, or the endpoint option)",
      },
    };
  }

  async uploadFile(name: string, localPath: string): Promise<void> {
    await this.#container.getBlockBlobClient(name).uploadFile(localPath, {
      blockSize: this.#transfer.partSize,
      maxSingleShotSize: this.#transfer.partSize,
      concurrency: this.#transfer.concurrency,
    });
  }

  async upload(name: string, body: Buffer): Promise<void> {
    await this.#container.getBlockBlobClient(name).upload(body, body.length);
  }

  /** A block blob upload with `If-None-Match: *`: 409 BlobAlreadyExists when the blob exists. */
  async uploadIfAbsent(name: string, body: Buffer): Promise<boolean> {
    try {
      await this.#container
        .getBlockBlobClient(name)
        .upload(body, body.length, { conditions: { ifNoneMatch: "*" } });
      return true;
    } catch (err) {
      if (BLOB_EXISTS.has(errorCode(err) ?? "")) return false;
      throw err;
    }
  }

  async download(name: string): Promise<Buffer | undefined> {
    try {
      const res = await this.#container.getBlobClient(name).download();
      const chunks: Buffer[] = [];
      for await (const chunk of res.readableStreamBody ?? []) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks);
    } catch (err) {
      if (MISSING_BLOB.has(errorCode(err) ?? "")) return undefined;
      throw err;
    }
  }

  async downloadToFile(name: string, localPath: string): Promise<boolean> {
    try {
      await this.#container.getBlobClient(name).downloadToFile(localPath);
      return true;
    } catch (err) {
      if (MISSING_BLOB.has(errorCode(err) ?? "")) return false;
      throw err;
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    const out: ObjectInfo[] = [];
    for await (const page of this.#container.listBlobsFlat({ prefix }).byPage({ maxPageSize: 5000 })) {
      for (const b of page.segment.blobItems)
        out.push({
          key: b.name,
          size: b.properties.contentLength ?? 0,
          ...(b.properties.lastModified ? { modifiedAt: b.properties.lastModified.getTime() } : {}),
        });
    }
    return out;
  }

  async delete(names: string[]): Promise<void> {
    await eachLimit(names, 8, (name) => this.#container.getBlobClient(name).deleteIfExists());
  }

  classify(err: unknown): Failure {
    const code = errorCode(err);
    const status = err instanceof RestError ? err.statusCode : undefined;
    const message = (err as Error)?.message?.split("\n")[0] ?? String(err);
    const detail = code && !message.startsWith(code) ? `${code}: ${message}` : message;
    if (code && MISSING_CONTAINER.has(code)) return { kind: "missing_bucket", detail };
    if (code && ACCESS_DENIED.has(code)) return { kind: "access_denied", detail };
    const generic = genericFailure(err, status, detail);
    if (generic.kind === "other" && code && BUSY.has(code)) return { kind: "transient", detail };
    return generic;
  }

  async close(): Promise<void> {}
}

/**
 * Opens `az://container/prefix` (account, key and endpoint from options or the Azure environment variables).
 *
 * @example
 * const store = openAzureStore(parseBucketUrl("az://lake/raw"), { credentials: { connection_string: "..." } });
 */
export function openAzureStore(
  location: StoreLocation,
  options: ObjectStoreOptions = {},
  tuning: StoreTuning = {},
): ObjectStore {
  const backend = new AzureBackend(resolveAzureConfig(options), location.bucket, tuning.transfer);
  return new RemoteStore(backend, location, tuning.retry);
}
