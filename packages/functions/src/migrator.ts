/**
 * Deploy-time Lambda: applies migrations/ (copied next to the bundle by `copyFiles`) to the
 * linked database. It throws on failure, so the `aws.lambda.Invocation` that runs it on
 * deploy fails and the deploy stops before new code meets an old schema.
 */
import path from "node:path";
import { Config } from "@fred/core/config";
import { isUnavailable } from "@fred/core/drizzle";
import { drizzle } from "drizzle-orm/postgres-js";
import { migrate } from "drizzle-orm/postgres-js/migrator";
import postgres from "postgres";

export async function handler() {
  const folder =
    process.env.MIGRATIONS_PATH ??
    path.join(process.env.LAMBDA_TASK_ROOT ?? process.cwd(), "migrations");
  const client = postgres(Config.databaseUrl(), {
    max: 1,
    prepare: false,
    ssl: Config.databaseSsl(),
    onnotice: () => {},
  });
  const started = Date.now();
  try {
    await reachable(client, Number(process.env.MIGRATOR_WAIT_MS ?? 120_000));
    await migrate(drizzle(client), { migrationsFolder: folder });
    const [row] = await client`select count(*)::int as n from drizzle.__drizzle_migrations`;
    const result = { applied: row?.n ?? 0, ms: Date.now() - started };
    console.log(JSON.stringify({ msg: "migrations applied", ...result }));
    return result;
  } finally {
    await client.end({ timeout: 5 });
  }
}

/**
 * On a stage's first deploy the RDS Proxy target can still be registering when the
 * migrator runs; wait for the database (only for "not reachable" errors) before migrating.
 */
async function reachable(client: postgres.Sql, budgetMs: number) {
  const deadline = Date.now() + budgetMs;
  for (let attempt = 1; ; attempt++) {
    try {
      await client`select 1`;
      return;
    } catch (error) {
      if (!isUnavailable(error) || Date.now() > deadline) throw error;
      console.log(JSON.stringify({ msg: "database not reachable yet; retrying", attempt }));
      await new Promise((r) => setTimeout(r, Math.min(10_000, 1000 * attempt)));
    }
  }
}
