/**
 * Once per test run: a real Postgres (embedded, or the server at DATABASE_URL) holding a
 * migrated template database, and a real S3-protocol server. Each test file then clones
 * the template into a database of its own (see setup.ts), so files run in parallel.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import postgres from "postgres";
import type { TestProject } from "vitest/node";
import { applyMigrations } from "../local/migrate";
import { type LocalPostgres, startPostgres } from "../local/postgres";
import { startS3 } from "../local/s3";

export const TEMPLATE = "fred_template";

declare module "vitest" {
  export interface ProvidedContext {
    adminDatabaseUrl: string;
    templateDatabase: string;
    s3Endpoint: string;
    s3Bucket: string;
  }
}

export default async function setup(project: TestProject) {
  const dir = await mkdtemp(path.join(tmpdir(), "fred-test-"));
  let pg: LocalPostgres | undefined;
  let adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) {
    pg = await startPostgres({ dir: path.join(dir, "pg"), fast: true });
    adminUrl = pg.url;
  }
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`DROP DATABASE IF EXISTS ${TEMPLATE} WITH (FORCE)`);
  await admin.unsafe(`CREATE DATABASE ${TEMPLATE}`);
  await applyMigrations(withDatabase(adminUrl, TEMPLATE));
  await admin.end();

  const s3 = await startS3({ dir: path.join(dir, "s3"), bucket: "fred-test-uploads" });
  project.provide("adminDatabaseUrl", adminUrl);
  project.provide("templateDatabase", TEMPLATE);
  project.provide("s3Endpoint", s3.endpoint);
  project.provide("s3Bucket", s3.bucket);

  return async () => {
    await s3.stop().catch(() => {});
    await pg?.stop().catch(() => {});
    await rm(dir, { recursive: true, force: true }).catch(() => {});
  };
}

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}
