import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HeadObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { BlobServiceClient, StorageSharedKeyCredential } from "@azure/storage-blob";
import type { ObjectStore, ObjectStoreOptions } from "../../src/storage/object-store.js";
import { openObjectStore } from "../../src/storage/open.js";
import { service } from "../helpers/services.js";

/** A way to open a store whose credentials are wrong, and the secret that must not show in its errors. */
export interface WrongCredential {
  options: ObjectStoreOptions;
  secret: string;
  /** Environment variable(s) the hint must name. */
  hintNames: RegExp;
}

/**
 * One store the object-store suite runs against: local disk, or a bucket on an emulator. Every store gets the
 * same test body; what only some stores can do (credentials, buckets, part counts) is optional here.
 */
export interface StoreTarget {
  name: string;
  skip: string | false;
  /** A store at a fresh prefix (`<bucket>/<run id>/<sub>`), with the emulator's environment. */
  open(sub: string): Promise<ObjectStore>;
  /** URL of the run's root, for stores opened with other options. */
  url(sub: string): string;
  options: ObjectStoreOptions;
  wrongCredential?(): WrongCredential;
  /** A URL whose bucket does not exist (undefined: the store has no buckets). */
  missingBucketUrl?(bucket: string): string;
  /** How many parts an object was uploaded in (undefined: the store cannot tell). */
  parts?(fullName: string): Promise<number>;
  /** The bucket-relative prefix of the run (object names are `<prefix>/<sub>/<key>`). */
  prefix: string;
  cleanup(): Promise<void>;
}

const runId = `run-${Date.now().toString(36)}-${randomBytes(3).toString("hex")}`;

function bucketTarget(
  name: string,
  svc: { url: string; env: Record<string, string>; skip: string | false },
  extra: Pick<StoreTarget, "wrongCredential" | "missingBucketUrl" | "parts">,
): StoreTarget {
  const options: ObjectStoreOptions = { env: svc.env };
  const url = (sub: string) => `${svc.url}/${runId}/${sub}`;
  return {
    name,
    skip: svc.skip,
    options,
    prefix: runId,
    url,
    open: (sub) => openObjectStore(url(sub), options),
    ...extra,
    async cleanup() {
      if (svc.skip) return;
      const store = await openObjectStore(`${svc.url}/${runId}`, options);
      await store.delete((await store.list("")).map((o) => o.key));
      await store.close();
    },
  };
}

/** Local disk, S3 (MinIO), Azure Blob (Azurite) and GCS (fake-gcs-server). */
export async function storeTargets(): Promise<StoreTarget[]> {
  const root = mkdtempSync(join(tmpdir(), "ferry-store-"));
  const local: StoreTarget = {
    name: "local",
    skip: false,
    options: {},
    prefix: "",
    url: (sub) => `file://${join(root, sub)}`,
    open: (sub) => openObjectStore(`file://${join(root, sub)}`),
    async cleanup() {
      rmSync(root, { recursive: true, force: true });
    },
  };

  const s3 = await service("s3");
  const s3Target = bucketTarget("s3", s3, {
    wrongCredential: () => {
      const secret = `wrong-${randomBytes(12).toString("hex")}`;
      return {
        options: { env: { ...s3.env, AWS_SECRET_ACCESS_KEY: secret } },
        secret,
        hintNames: /AWS_ACCESS_KEY_ID.*AWS_SECRET_ACCESS_KEY/,
      };
    },
    missingBucketUrl: (bucket) => `s3://${bucket}/x`,
    async parts(fullName) {
      const client = new S3Client({
        region: "us-east-1",
        endpoint: s3.env.AWS_ENDPOINT_URL,
        forcePathStyle: true,
        credentials: {
          accessKeyId: s3.env.AWS_ACCESS_KEY_ID!,
          secretAccessKey: s3.env.AWS_SECRET_ACCESS_KEY!,
        },
      });
      const head = await client.send(
        new HeadObjectCommand({ Bucket: new URL(s3.url).hostname, Key: fullName }),
      );
      client.destroy();
      // A multipart upload's ETag is "<md5 of the part md5s>-<number of parts>".
      return Number(/-(\d+)"?$/.exec(head.ETag ?? "")?.[1] ?? 1);
    },
  });

  const az = await service("azure");
  const azTarget = bucketTarget("azure", az, {
    wrongCredential: () => {
      const secret = randomBytes(64).toString("base64");
      return {
        options: { env: { ...az.env, AZURE_STORAGE_ACCOUNT_KEY: secret } },
        secret,
        hintNames: /AZURE_STORAGE_CONNECTION_STRING.*AZURE_STORAGE_ACCOUNT_KEY/,
      };
    },
    missingBucketUrl: (bucket) => `az://${bucket}/x`,
    async parts(fullName) {
      const credential = new StorageSharedKeyCredential(
        az.env.AZURE_STORAGE_ACCOUNT_NAME!,
        az.env.AZURE_STORAGE_ACCOUNT_KEY!,
      );
      const blob = new BlobServiceClient(az.env.AZURE_STORAGE_ENDPOINT!, credential)
        .getContainerClient(new URL(az.url).hostname)
        .getBlockBlobClient(fullName);
      const list = await blob.getBlockList("committed");
      return Math.max(1, list.committedBlocks?.length ?? 0);
    },
  });

  const gcs = await service("gcs");
  const keyDir = mkdtempSync(join(tmpdir(), "ferry-gcs-key-"));
  const gcsTarget = bucketTarget("gcs", gcs, {
    // fake-gcs-server accepts any request, so the wrong credential is one Google's auth library cannot use: a
    // service account file whose private key does not decode. (Real GCS refuses a well-formed but wrong key
    // with invalid_grant, which maps to the same error.)
    wrongCredential: () => {
      const body = randomBytes(48).toString("base64");
      const secret = `-----BEGIN PRIVATE KEY-----\n${body}\n-----END PRIVATE KEY-----\n`;
      const file = join(keyDir, `${randomBytes(4).toString("hex")}.json`);
      writeFileSync(
        file,
        JSON.stringify({
          type: "service_account",
          client_email: "ferry@test.iam.gserviceaccount.com",
          private_key: secret,
        }),
      );
      return {
        // The endpoint option (not STORAGE_EMULATOR_HOST) authenticates when credentials are given.
        options: { endpoint: gcs.env.STORAGE_EMULATOR_HOST, env: { GOOGLE_APPLICATION_CREDENTIALS: file } },
        secret: body,
        hintNames: /GOOGLE_APPLICATION_CREDENTIALS/,
      };
    },
    missingBucketUrl: (bucket) => `gs://${bucket}/x`,
  });
  const gcsCleanup = gcsTarget.cleanup;
  gcsTarget.cleanup = async () => {
    rmSync(keyDir, { recursive: true, force: true });
    await gcsCleanup();
  };

  return [local, s3Target, azTarget, gcsTarget];
}
