/**
 * Presigning, loaded lazily: the S3 SDK is the heaviest thing we import and most requests
 * never need it, so it stays out of the cold start.
 *
 * getSignedUrl runs the client's whole middleware stack (endpoint rules, serialization,
 * user agent, retry, ...) for every URL: ~400 µs each, too slow for a job's 100,000 results.
 * The stack's output does not depend on the key, so it runs once per bucket and method,
 * stopping where getSignedUrl signs; each URL then only sets the path and runs the SDK's
 * own presigner (S3RequestPresigner, SigV4) and URL formatter: ~50 µs, byte-for-byte the
 * URL getSignedUrl returns.
 */
import { Config } from "../config";
import { UnavailableError } from "../error";

type S3RequestPresigner = import("@aws-sdk/s3-request-presigner").S3RequestPresigner;
type HttpRequest = Parameters<S3RequestPresigner["presign"]>[0];
type Method = "GET" | "PUT";

/** What getSignedUrl would sign for one bucket and method, less the key. */
interface Template {
  request: HttpRequest;
  /** `/` (virtual-hosted) or `/<bucket>/` (path style, local S3): the path before the key. */
  pathPrefix: string;
  signingRegion: string;
  signingService: string;
  signer: S3RequestPresigner;
}

type Sdk = {
  client: import("@aws-sdk/client-s3").S3Client;
  s3: typeof import("@aws-sdk/client-s3");
  presigner: typeof import("@aws-sdk/s3-request-presigner");
  formatUrl: typeof import("@aws-sdk/core/util").formatUrl;
  templates: Map<string, Promise<Template>>;
};
let sdk: Promise<Sdk> | undefined;

function load(): Promise<Sdk> {
  sdk ??= Promise.all([
    import("@aws-sdk/client-s3"),
    import("@aws-sdk/s3-request-presigner"),
    import("@aws-sdk/core/util"),
  ]).then(([s3, presigner, { formatUrl }]) => {
    const endpoint = Config.s3Endpoint();
    const client = new s3.S3Client({
      region: Config.region(),
      // Otherwise the SDK signs a CRC32 of an empty body into every PUT URL.
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
      ...(endpoint
        ? {
            endpoint,
            forcePathStyle: true,
            credentials: {
              accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? "S3RVER",
              secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? "S3RVER",
            },
          }
        : {}),
    });
    return { client, s3, presigner, formatUrl, templates: new Map() };
  });
  return sdk;
}

/** What the client's stack leaves in its handler context that signing needs. */
interface SigningContext {
  authSchemes?: { name?: string; signingRegion?: string; signingName?: string }[];
  signing_region?: string;
  signing_service?: string;
  s3ExpressIdentity?: unknown;
}

/** A key that encodes to itself, to find where the key goes in the path. */
const PROBE = "presign-template-probe";

/** Runs the client's stack once for a probe key, stopping where getSignedUrl would sign. */
async function buildTemplate({ client, s3, presigner }: Sdk, bucket: string, method: Method) {
  const input = { Bucket: bucket, Key: PROBE };
  const command =
    method === "GET" ? new s3.GetObjectCommand(input) : new s3.PutObjectCommand(input);
  let request: HttpRequest | undefined;
  let context: SigningContext = {};
  const stack = client.middlewareStack.clone();
  // The hook getSignedUrl adds (presignInterceptMiddleware), in the same place.
  stack.addRelativeTo(
    ((_next: unknown, ctx: SigningContext) => async (args: { request: HttpRequest }) => {
      request = args.request;
      context = ctx;
      return { response: {}, output: { $metadata: {} } };
    }) as never,
    {
      name: "presignTemplate",
      relation: "before",
      toMiddleware: "awsAuthMiddleware",
      override: true,
    },
  );
  await command.resolveMiddleware(stack as never, client.config, {})({ input: command.input });

  const auth = context.authSchemes?.[0];
  // SigV4a (multi-region access points) and S3 Express sign differently: not templated.
  if (!request?.path.endsWith(`/${PROBE}`) || auth?.name !== "sigv4" || context.s3ExpressIdentity) {
    throw new Error(
      `Cannot presign for bucket ${bucket}: unexpected ${auth?.name ?? "auth scheme"}`,
    );
  }
  const signingRegion = context.signing_region ?? auth.signingRegion ?? Config.region();
  const headers = { ...request.headers };
  // getSignedUrl drops these too.
  delete headers["amz-sdk-invocation-id"];
  delete headers["amz-sdk-request"];
  delete headers["x-amz-user-agent"];
  return {
    request: { ...request, headers, query: { ...request.query } },
    pathPrefix: request.path.slice(0, -PROBE.length),
    signingRegion,
    signingService: context.signing_service ?? auth.signingName ?? "s3",
    // What getSignedUrl constructs per URL. It calls client.config.credentials per URL,
    // so credential refresh works as before.
    signer: new presigner.S3RequestPresigner({
      ...client.config,
      signingName: auth.signingName,
      region: async () => signingRegion,
    }),
  } satisfies Template;
}

/** The SDK's encoding of the `{Key+}` path label: each segment, `/` kept. */
function encodeKey(key: string): string {
  return key
    .split("/")
    .map((s) =>
      /^[\w.~-]+$/.test(s)
        ? s
        : encodeURIComponent(s).replace(
            /[!'()*]/g,
            (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
          ),
    )
    .join("/");
}

async function presignUrl(method: Method, key: string, expiresIn: number, contentType?: string) {
  // getSignedUrl would sign the bucket itself ("/"): a listing URL. Never wanted.
  if (!key) throw new Error("Cannot presign an empty key");
  const loaded = await load();
  const bucket = Config.bucket();
  const id = `${method} ${bucket}`;
  let template = loaded.templates.get(id);
  if (!template) {
    template = buildTemplate(loaded, bucket, method);
    loaded.templates.set(id, template);
    template.catch(() => loaded.templates.delete(id));
  }
  const { request, pathPrefix, signingRegion, signingService, signer } = await template;
  const headers = { ...request.headers };
  if (contentType) headers["content-type"] = contentType;
  const signed = await signer.presign(
    { ...request, headers, query: { ...request.query }, path: pathPrefix + encodeKey(key) },
    {
      expiresIn,
      signingRegion,
      signingService,
      ...(contentType ? { signableHeaders: new Set(["content-type"]) } : {}),
    },
  );
  return loaded.formatUrl(signed);
}

export interface Presigned {
  url: string;
  method: "PUT" | "GET";
  key: string;
  /** Headers the client must send with the request for the signature to hold. */
  headers: Record<string, string>;
  expiresAt: Date;
}

export async function presignPut(key: string, contentType?: string): Promise<Presigned> {
  const expiresIn = Config.presignTtl();
  const url = await presignUrl("PUT", key, expiresIn, contentType);
  return {
    url,
    method: "PUT",
    key,
    headers: contentType ? { "content-type": contentType } : {},
    expiresAt: new Date(Date.now() + expiresIn * 1000),
  };
}

export async function presignGet(key: string): Promise<Presigned> {
  const expiresIn = Config.presignTtl();
  const url = await presignUrl("GET", key, expiresIn);
  return {
    url,
    method: "GET",
    key,
    headers: {},
    expiresAt: new Date(Date.now() + expiresIn * 1000),
  };
}

/**
 * Whether an object is stored at `key` (a HEAD request). S3 unreachable or refusing is an
 * UnavailableError (a 503 with Retry-After), not an answer either way.
 */
export async function objectExists(key: string): Promise<boolean> {
  const { client, s3 } = await load();
  try {
    await client.send(new s3.HeadObjectCommand({ Bucket: Config.bucket(), Key: key }));
    return true;
  } catch (error) {
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status === 404) return false;
    throw new UnavailableError("Storage is unavailable; retry shortly.");
  }
}

/**
 * Deletes these objects, 1,000 per request (S3's most), four requests at a time. Deleting a
 * missing key is no error, so a retry after a partial failure finishes the job. S3 busy or
 * unreachable is a 503 (retry); anything else it refuses (access denied: a deployment
 * fault) is thrown as it is, a logged 500.
 */
export async function deleteObjects(keys: string[]): Promise<void> {
  if (!keys.length) return;
  const { client, s3 } = await load();
  const batches: string[][] = [];
  for (let i = 0; i < keys.length; i += 1000) batches.push(keys.slice(i, i + 1000));
  const deleteBatch = async (batch: string[]) => {
    const Objects = batch.map((Key) => ({ Key }));
    let out: import("@aws-sdk/client-s3").DeleteObjectsCommandOutput;
    try {
      out = await client.send(
        new s3.DeleteObjectsCommand({ Bucket: Config.bucket(), Delete: { Objects, Quiet: true } }),
      );
    } catch (error) {
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata
        ?.httpStatusCode;
      if (status === undefined || status >= 500 || status === 429) throw unavailable();
      throw error;
    }
    const failed = out.Errors?.[0];
    if (failed && RETRYABLE.has(failed.Code ?? "")) throw unavailable();
    if (failed)
      throw new Error(`S3 did not delete ${failed.Key}: ${failed.Code} ${failed.Message}`);
  };
  for (let i = 0; i < batches.length; i += 4) {
    await Promise.all(batches.slice(i, i + 4).map(deleteBatch));
  }
}

const RETRYABLE = new Set(["InternalError", "ServiceUnavailable", "SlowDown", "RequestTimeout"]);
const unavailable = () => new UnavailableError("Storage is unavailable; retry shortly.");

/** Forget the client (tests that change S3_ENDPOINT between files). */
export function resetS3() {
  sdk = undefined;
}
