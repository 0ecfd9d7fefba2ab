/**
 * Deploy-time Lambda: applies migrations/ (copied next to the bundle by `copyFiles`) to the
 * linked database. It throws on failure, so the `aws.lambda.Invocation` that runs it on
 * deploy fails and the deploy stops before new code meets an old schema.
 */
import path from "node:path";
import { Config } from "@fred/core/config";
import { drizzle } from "drizzle-orm/postgres-js";
import { migrate } from "drizzle-orm/postgres-js/migrator";
import postgres from "postgres";

export async function handler() {
  const folder =
    process.env.MIGRATIONS_PATH ??
    path.join(process.env.LAMBDA_TASK_ROOT ?? process.cwd(), "migrations");
  const client = postgres(Config.databaseUrl(), { max: 1, prepare: false, onnotice: () => {} });
  const started = Date.now();
  try {
    await migrate(drizzle(client), { migrationsFolder: folder });
    const [row] = await client`select count(*)::int as n from drizzle.__drizzle_migrations`;
    const result = { applied: row?.n ?? 0, ms: Date.now() - started };
    console.log(JSON.stringify({ msg: "migrations applied", ...result }));
    return result;
  } finally {
    await client.end({ timeout: 5 });
  }
}
