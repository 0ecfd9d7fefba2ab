/**
 * The local stand-ins for what SST links in the cloud: Postgres (embedded, or
 * DATABASE_URL) with migrations applied, and an S3-protocol server (local, or
 * S3_ENDPOINT). State lives under `.local/` so it survives restarts.
 */
import path from "node:path";
import { applyMigrations, MIGRATIONS } from "./migrate";
import { type LocalPostgres, startPostgres } from "./postgres";
import { type LocalS3, startS3 } from "./s3";

export const ROOT = path.resolve(MIGRATIONS, "..");
export const STATE = path.join(ROOT, ".local");
export const LOCAL_BUCKET = "fred-uploads";

export interface Services {
  databaseUrl: string;
  s3Endpoint: string;
  bucket: string;
  stop(): Promise<void>;
}

export async function startServices(log: (line: string) => void): Promise<Services> {
  let pg: LocalPostgres | undefined;
  let s3: LocalS3 | undefined;
  const stop = async () => {
    await s3?.stop().catch(() => {});
    await pg?.stop().catch(() => {});
  };
  try {
    let databaseUrl = process.env.DATABASE_URL;
    if (databaseUrl) {
      log(`database: DATABASE_URL (${redact(databaseUrl)})`);
    } else {
      const dir = path.join(STATE, "postgres");
      pg = await startPostgres({
        dir,
        persistent: true,
        port: process.env.PGPORT ? Number(process.env.PGPORT) : undefined,
      });
      databaseUrl = pg.url;
      log(`database: embedded Postgres 17 on 127.0.0.1:${pg.port}, data in ${dir}`);
    }
    await applyMigrations(databaseUrl);
    log("database: migrations applied");

    let s3Endpoint = process.env.S3_ENDPOINT;
    const bucket = process.env.S3_BUCKET ?? LOCAL_BUCKET;
    if (s3Endpoint) {
      log(`s3: S3_ENDPOINT ${s3Endpoint}, bucket ${bucket}`);
    } else {
      s3 = await startS3({
        dir: path.join(STATE, "s3"),
        bucket,
        port: process.env.S3_PORT ? Number(process.env.S3_PORT) : undefined,
      });
      s3Endpoint = s3.endpoint;
      log(
        `s3: local SigV4-checking S3 server at ${s3Endpoint}, bucket ${bucket}, data in .local/s3`,
      );
    }
    return { databaseUrl, s3Endpoint, bucket, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

function redact(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = "***";
  return u.toString();
}
