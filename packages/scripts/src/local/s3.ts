/**
 * A real S3-protocol server on loopback: @20minutes/s3rver checks SigV4 signatures, so a
 * tampered or expired presigned URL is refused here exactly as S3 refuses it.
 * (Its ListObjects is broken: nothing of ours lists.)
 */
import { createRequire } from "node:module";
import { freePort } from "./postgres";

export interface LocalS3 {
  endpoint: string;
  bucket: string;
  stop(): Promise<void>;
}

/** The keys s3rver's built-in account accepts. */
export const LOCAL_S3_CREDENTIALS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };

export async function startS3(options: {
  dir: string;
  bucket: string;
  port?: number;
}): Promise<LocalS3> {
  const port = options.port ?? (await freePort());
  // The package ships CommonJS without type declarations.
  const S3rver = createRequire(import.meta.url)("@20minutes/s3rver") as new (
    o: Record<string, unknown>,
  ) => { run(): Promise<unknown>; close(): Promise<void> };
  const server = new S3rver({
    address: "127.0.0.1",
    port,
    silent: true,
    directory: options.dir,
    vhostBuckets: false,
    configureBuckets: [{ name: options.bucket, configs: [] }],
  });
  await server.run();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket: options.bucket,
    stop: () => server.close(),
  };
}
