/**
 * Presigning, loaded lazily: the S3 SDK is the heaviest thing we import and most requests
 * never need it, so it stays out of the cold start.
 */
import { Config } from "../config";

type Sdk = {
  client: import("@aws-sdk/client-s3").S3Client;
  s3: typeof import("@aws-sdk/client-s3");
  presigner: typeof import("@aws-sdk/s3-request-presigner");
};
let sdk: Promise<Sdk> | undefined;

function load(): Promise<Sdk> {
  sdk ??= Promise.all([import("@aws-sdk/client-s3"), import("@aws-sdk/s3-request-presigner")]).then(
    ([s3, presigner]) => {
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
      return { client, s3, presigner };
    },
  );
  return sdk;
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
  const { client, s3, presigner } = await load();
  const expiresIn = Config.presignTtl();
  const command = new s3.PutObjectCommand({
    Bucket: Config.bucket(),
    Key: key,
    ...(contentType ? { ContentType: contentType } : {}),
  });
  const url = await presigner.getSignedUrl(client, command, {
    expiresIn,
    ...(contentType ? { signableHeaders: new Set(["content-type"]) } : {}),
  });
  return {
    url,
    method: "PUT",
    key,
    headers: contentType ? { "content-type": contentType } : {},
    expiresAt: new Date(Date.now() + expiresIn * 1000),
  };
}

export async function presignGet(key: string): Promise<Presigned> {
  const { client, s3, presigner } = await load();
  const expiresIn = Config.presignTtl();
  const url = await presigner.getSignedUrl(
    client,
    new s3.GetObjectCommand({ Bucket: Config.bucket(), Key: key }),
    { expiresIn },
  );
  return {
    url,
    method: "GET",
    key,
    headers: {},
    expiresAt: new Date(Date.now() + expiresIn * 1000),
  };
}

/** Forget the client (tests that change S3_ENDPOINT between files). */
export function resetS3() {
  sdk = undefined;
}
