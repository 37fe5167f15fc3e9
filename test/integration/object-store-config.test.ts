import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { RestError } from "@azure/storage-blob";
import { resolveAzureConfig } from "../../src/storage/azure/azure-config.js";
import { AzureBackend } from "../../src/storage/azure/azure-store.js";
import { resolveGcsConfig } from "../../src/storage/gcs/gcs-config.js";
import { GcsBackend } from "../../src/storage/gcs/gcs-store.js";
import { LocalStore } from "../../src/storage/local/local-store.js";
import { parseBucketUrl } from "../../src/storage/location.js";
import { openObjectStore } from "../../src/storage/open.js";
import { resolveS3Config } from "../../src/storage/s3/s3-config.js";
import { S3Backend } from "../../src/storage/s3/s3-store.js";
import { ConfigError } from "../../src/util/errors.js";
import { redactSecrets } from "../../src/util/log.js";

// How stores find their settings (options first, then each cloud's environment variables) and how their errors
// are classified. No server needed: nothing here sends a request.

const dir = mkdtempSync(join(tmpdir(), "ferry-store-config-"));
after(() => rmSync(dir, { recursive: true, force: true }));

describe("storage URLs", () => {
  test("bucket URLs split into scheme, bucket and prefix", () => {
    assert.deepEqual(parseBucketUrl("s3://lake/raw/events/"), {
      scheme: "s3",
      bucket: "lake",
      prefix: "raw/events",
    });
    assert.deepEqual(parseBucketUrl("gs://lake"), { scheme: "gs", bucket: "lake", prefix: "" });
    assert.deepEqual(parseBucketUrl("AZ://c/p"), { scheme: "az", bucket: "c", prefix: "p" });
  });

  test("bad URLs are configuration errors; credentials in a URL are refused and not echoed", () => {
    assert.throws(() => parseBucketUrl("s3://"), ConfigError);
    assert.throws(() => parseBucketUrl("s3:///x"), ConfigError);
    assert.throws(() => parseBucketUrl("s3://b/../x"), ConfigError);
    assert.throws(
      () => parseBucketUrl("s3://AKIA:topsecret@bucket/x"),
      (e: unknown) =>
        e instanceof ConfigError && !e.message.includes("topsecret") && /credentials/.test(e.message),
    );
  });

  test("openObjectStore: file URLs open a local folder, unknown schemes are refused", async () => {
    const store = await openObjectStore(`file://${dir}/lake/`);
    assert.ok(store instanceof LocalStore);
    assert.equal(store.description, `file://${dir}/lake`);
    await assert.rejects(openObjectStore("ftp://host/x"), ConfigError);
    await assert.rejects(openObjectStore("/no/scheme"), ConfigError);
  });

  test("bucket stores describe themselves by URL, without credentials", async () => {
    const env = { AWS_ACCESS_KEY_ID: "AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY: "s3-secret-value-1" };
    const store = await openObjectStore("s3://lake/raw/", { env, endpoint: "http://127.0.0.1:1" });
    assert.equal(store.description, "s3://lake/raw");
    await store.close();
  });
});

describe("S3 settings", () => {
  test("from the AWS environment variables; an endpoint means path-style", () => {
    const c = resolveS3Config({
      env: {
        AWS_ACCESS_KEY_ID: "AKID",
        AWS_SECRET_ACCESS_KEY: "env-secret-1234",
        AWS_SESSION_TOKEN: "env-token-5678",
        AWS_REGION: "eu-west-1",
        AWS_ENDPOINT_URL: "http://127.0.0.1:9000",
      },
    });
    assert.deepEqual(c, {
      region: "eu-west-1",
      endpoint: "http://127.0.0.1:9000",
      credentials: {
        accessKeyId: "AKID",
        secretAccessKey: "env-secret-1234",
        sessionToken: "env-token-5678",
      },
    });
    assert.equal(redactSecrets("key env-secret-1234 token env-token-5678"), "key *** token ***");
  });

  test("options win over the environment; AWS_ENDPOINT_URL_S3 over AWS_ENDPOINT_URL", () => {
    const c = resolveS3Config({
      region: "auto",
      credentials: { access_key_id: "opt", secret_access_key: "opt-secret-99" },
      env: {
        AWS_ACCESS_KEY_ID: "env",
        AWS_SECRET_ACCESS_KEY: "env-secret",
        AWS_ENDPOINT_URL: "http://a:1",
        AWS_ENDPOINT_URL_S3: "http://b:2",
      },
    });
    assert.equal(c.region, "auto");
    assert.equal(c.endpoint, "http://b:2");
    assert.deepEqual(c.credentials, { accessKeyId: "opt", secretAccessKey: "opt-secret-99" });
    assert.equal(resolveS3Config({ env: { AWS_DEFAULT_REGION: "us-west-2" } }).region, "us-west-2");
    assert.equal(resolveS3Config({ env: {} }).credentials, undefined, "the SDK's default chain then applies");
  });

  test("half a key pair or a bad endpoint is a configuration error", () => {
    assert.throws(
      () => resolveS3Config({ env: { AWS_ACCESS_KEY_ID: "x" } }),
      (e: unknown) => e instanceof ConfigError && /AWS_SECRET_ACCESS_KEY/.test(e.hint ?? ""),
    );
    assert.throws(() => resolveS3Config({ env: {}, endpoint: "not a url" }), ConfigError);
  });

  test("errors are classified by their S3 code, HTTP status or network code", () => {
    const b = new S3Backend(
      resolveS3Config({ env: { AWS_ACCESS_KEY_ID: "a", AWS_SECRET_ACCESS_KEY: "b" } }),
      "lake",
    );
    const s3Err = (name: string, status: number) =>
      Object.assign(new Error(`${name} happened`), { name, $metadata: { httpStatusCode: status } });
    assert.equal(b.classify(s3Err("NoSuchBucket", 404)).kind, "missing_bucket");
    assert.equal(b.classify(s3Err("InvalidAccessKeyId", 403)).kind, "access_denied");
    assert.equal(b.classify(s3Err("AccessDenied", 403)).kind, "access_denied");
    assert.equal(b.classify(s3Err("SlowDown", 503)).kind, "transient");
    assert.equal(b.classify(s3Err("InternalError", 500)).kind, "transient");
    assert.equal(b.classify(s3Err("Whatever", 429)).kind, "transient");
    assert.equal(
      b.classify(Object.assign(new Error("socket hang up"), { code: "ECONNRESET" })).kind,
      "transient",
    );
    assert.equal(b.classify(new Error("connect ECONNREFUSED 127.0.0.1:9000")).kind, "unreachable");
    assert.equal(b.classify(s3Err("InvalidObjectState", 403)).kind, "access_denied");
    assert.equal(b.classify(s3Err("EntityTooLarge", 400)).kind, "other");
  });
});

describe("Azure settings", () => {
  const key = Buffer.from("azure-account-key-0123456789").toString("base64");

  test("a connection string: account, key and blob endpoint", () => {
    const c = resolveAzureConfig({
      env: {
        AZURE_STORAGE_CONNECTION_STRING: `DefaultEndpointsProtocol=http;AccountName=dev;AccountKey=${key};BlobEndpoint=http://127.0.0.1:10000/dev;`,
      },
    });
    assert.deepEqual(c, {
      accountName: "dev",
      endpoint: "http://127.0.0.1:10000/dev",
      accountKey: key,
      sasToken: undefined,
    });
    assert.equal(redactSecrets(`key=${key}`).includes(key), false);
    const suffix = resolveAzureConfig({
      credentials: {
        connection_string: `AccountName=acme;AccountKey=${key};EndpointSuffix=core.chinacloudapi.cn`,
      },
    });
    assert.equal(suffix.endpoint, "https://acme.blob.core.chinacloudapi.cn");
    const dev = resolveAzureConfig({
      env: { AZURE_STORAGE_CONNECTION_STRING: "UseDevelopmentStorage=true" },
    });
    assert.equal(dev.endpoint, "http://127.0.0.1:10000/devstoreaccount1");
  });

  test("account name and key (or SAS token) from the environment, the endpoint from AZURE_STORAGE_ENDPOINT", () => {
    const c = resolveAzureConfig({
      env: {
        AZURE_STORAGE_ACCOUNT_NAME: "acme",
        AZURE_STORAGE_ACCOUNT_KEY: key,
        AZURE_STORAGE_ENDPOINT: "http://h:1/acme/",
      },
    });
    assert.deepEqual(c, {
      accountName: "acme",
      endpoint: "http://h:1/acme",
      accountKey: key,
      sasToken: undefined,
    });
    const aliases = resolveAzureConfig({ env: { AZURE_STORAGE_ACCOUNT: "acme", AZURE_STORAGE_KEY: key } });
    assert.equal(aliases.endpoint, "https://acme.blob.core.windows.net");
    const sas = resolveAzureConfig({
      env: { AZURE_STORAGE_ACCOUNT_NAME: "acme", AZURE_STORAGE_SAS_TOKEN: "?sv=1&sig=abcd" },
    });
    assert.equal(sas.sasToken, "sv=1&sig=abcd");
    assert.equal(sas.accountKey, undefined);
  });

  test("no account or no credentials: a configuration error naming the variables", () => {
    assert.throws(() => resolveAzureConfig({ env: {} }), /no Azure storage account/);
    assert.throws(
      () => resolveAzureConfig({ env: { AZURE_STORAGE_ACCOUNT_NAME: "acme" } }),
      (e: unknown) => e instanceof ConfigError && /AZURE_STORAGE_ACCOUNT_KEY/.test(e.hint ?? ""),
    );
  });

  test("errors are classified by their Azure error code", () => {
    const b = new AzureBackend(
      resolveAzureConfig({ credentials: { account_name: "acme", account_key: key } }),
      "c",
    );
    const rest = (code: string, statusCode: number) => new RestError(`${code} message`, { code, statusCode });
    assert.equal(b.classify(rest("ContainerNotFound", 404)).kind, "missing_bucket");
    assert.equal(b.classify(rest("AuthenticationFailed", 403)).kind, "access_denied");
    assert.equal(b.classify(rest("ServerBusy", 503)).kind, "transient");
    assert.equal(b.classify(rest("TooManyRequests", 429)).kind, "transient");
    assert.equal(b.classify(rest("REQUEST_SEND_ERROR", 0)).kind, "transient");
    assert.equal(
      b.classify(new RestError("connect ECONNREFUSED 127.0.0.1:1", { code: "REQUEST_SEND_ERROR" })).kind,
      "unreachable",
    );
  });
});

describe("GCS settings", () => {
  test("STORAGE_EMULATOR_HOST: an endpoint (scheme added) that takes no credentials", () => {
    const c = resolveGcsConfig({
      env: { STORAGE_EMULATOR_HOST: "127.0.0.1:4443", GOOGLE_CLOUD_PROJECT: "p1" },
    });
    assert.equal(c.endpoint, "http://127.0.0.1:4443");
    assert.equal(c.authenticate, false);
    assert.equal(c.projectId, "p1");
    assert.equal(resolveGcsConfig({ env: {} }).authenticate, true, "Google's endpoint always authenticates");
  });

  test("GOOGLE_APPLICATION_CREDENTIALS: a service account key file, its private key masked", () => {
    const file = join(dir, "sa.json");
    const privateKey = "-----BEGIN PRIVATE KEY-----\nZmFrZS1rZXktZm9yLXRlc3Rz\n-----END PRIVATE KEY-----\n";
    writeFileSync(
      file,
      JSON.stringify({
        client_email: "a@p.iam.gserviceaccount.com",
        private_key: privateKey,
        project_id: "p2",
      }),
    );
    const c = resolveGcsConfig({
      env: { GOOGLE_APPLICATION_CREDENTIALS: file, STORAGE_EMULATOR_HOST: "h:1" },
    });
    assert.equal(c.credentials?.client_email, "a@p.iam.gserviceaccount.com");
    assert.equal(c.projectId, "p2");
    assert.equal(
      c.authenticate,
      false,
      "an emulator found through STORAGE_EMULATOR_HOST never authenticates",
    );
    assert.equal(
      resolveGcsConfig({ endpoint: "http://h:1", env: { GOOGLE_APPLICATION_CREDENTIALS: file } })
        .authenticate,
      true,
    );
    assert.equal(redactSecrets(privateKey).includes("ZmFrZS1rZXktZm9yLXRlc3Rz"), false);
  });

  test("unreadable or malformed key files are configuration errors that do not print the file", () => {
    assert.throws(
      () => resolveGcsConfig({ env: { GOOGLE_APPLICATION_CREDENTIALS: join(dir, "none.json") } }),
      ConfigError,
    );
    const bad = join(dir, "bad.json");
    writeFileSync(bad, '{"private_key": "super-secret-material", "client_email": 5}');
    assert.throws(
      () => resolveGcsConfig({ credentials: { credentials_file: bad } }),
      (e: unknown) => e instanceof ConfigError && !e.message.includes("super-secret-material"),
    );
    assert.throws(
      () => resolveGcsConfig({ credentials: { credentials_json: "{not json" } }),
      /not valid JSON/,
    );
  });

  test("errors are classified by HTTP status and Google's auth errors", () => {
    const b = new GcsBackend(resolveGcsConfig({ env: { STORAGE_EMULATOR_HOST: "127.0.0.1:1" } }), "lake");
    const api = (code: number, message: string) => Object.assign(new Error(message), { code });
    assert.equal(b.classify(api(404, "The specified bucket does not exist.")).kind, "missing_bucket");
    assert.equal(b.classify(api(401, "Invalid Credentials")).kind, "access_denied");
    assert.equal(
      b.classify(api(403, "a@p does not have storage.objects.create access")).kind,
      "access_denied",
    );
    assert.equal(b.classify(new Error("invalid_grant: Invalid JWT Signature.")).kind, "access_denied");
    assert.equal(b.classify(api(429, "rate limited")).kind, "transient");
    assert.equal(b.classify(api(503, "backend error")).kind, "transient");
    assert.equal(
      b.classify(new Error("Stopping as this could result in data loss. Initiate a new upload to continue."))
        .kind,
      "transient",
    );
  });
});
