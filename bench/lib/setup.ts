/**
 * What every figure runs against: a fresh embedded Postgres 17 (the server `pnpm start`
 * and the tests use) with the migrations applied, in a temporary directory, and the app's
 * modules loaded in this process with the environment the Lambda would have.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { runRequest as fixture } from "../../packages/core/test/fixtures";
import { applyMigrations } from "../../packages/scripts/src/local/migrate";
import { startPostgres } from "../../packages/scripts/src/local/postgres";
import type { LambdaHandler } from "./lambda";

export const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../fixtures");

export interface Options {
  /** Fewer iterations and shorter loads: a smoke run of the whole bench. */
  quick: boolean;
  keep: boolean;
}

export async function setup(options: Options) {
  const work = await mkdtemp(path.join(os.tmpdir(), "fred-bench-"));
  const pg = await startPostgres({ dir: path.join(work, "postgres"), fast: true });
  try {
    await applyMigrations(pg.url);
  } catch (error) {
    await pg.stop();
    throw error;
  }

  // What the app reads. No route measured here touches S3, so no S3 server is started.
  const env: Record<string, string> = {
    DATABASE_URL: pg.url,
    LOG_LEVEL: "silent",
    AWS_REGION: "us-east-1",
    S3_BUCKET: "fred-bench",
    S3_ENDPOINT: "http://127.0.0.1:9",
    AWS_ACCESS_KEY_ID: "S3RVER",
    AWS_SECRET_ACCESS_KEY: "S3RVER",
    ADMIN_TOKEN: `adm_${randomBytes(24).toString("base64url")}`,
    NODE_ENV: "production",
  };
  Object.assign(process.env, env, {
    // As in Lambda: one connection per process (Config.poolSize).
    AWS_LAMBDA_FUNCTION_NAME: "fred-bench",
  });

  // Imported only now: the core reads its configuration from the environment set above.
  const { handler } = await import("../../packages/functions/src/api");
  const { sql, closeDb } = await import("../../packages/core/src/drizzle/index");
  const { User } = await import("../../packages/core/src/user/index");
  const { token, user } = await User.provision({ name: "bench", label: "bench" });

  return {
    options,
    work,
    databaseUrl: pg.url,
    /** URL of another database on the same server. */
    databaseUrlFor: pg.urlFor,
    /** Environment for child processes: the app's settings and nothing inherited. */
    childEnv(extra: Record<string, string> = {}): Record<string, string> {
      return { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env, ...extra };
    },
    handler: handler as unknown as LambdaHandler,
    sql,
    userId: user.id,
    token: token.token,
    async stop() {
      await closeDb().catch(() => {});
      await pg.stop().catch(() => {});
      if (!options.keep) await rm(work, { recursive: true, force: true });
    },
  };
}

export type Bench = Awaited<ReturnType<typeof setup>>;

/** The tests' run request, with an index in its arguments so each run is distinct. */
export function runRequest(jobId: number, index = 0) {
  return fixture(jobId, {
    fredArgs: [
      { flag: "-p", value: "main.fred" },
      { flag: "-r", value: String(index) },
    ],
  });
}
