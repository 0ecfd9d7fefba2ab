/**
 * `pnpm db:migrate`: applies migrations/ to DATABASE_URL (or, under `sst shell`, the
 * linked database). Exits non-zero with the database's own message when one fails.
 */
import { Config } from "@fred/core/config";
import { applyMigrations, MIGRATIONS } from "./local/migrate";

try {
  const url = Config.databaseUrl();
  const started = Date.now();
  await applyMigrations(url);
  console.log(`migrations in ${MIGRATIONS} applied (${Date.now() - started} ms)`);
} catch (error) {
  const e = error as { message?: string; cause?: { message?: string } };
  console.error(`migration failed: ${e.cause?.message ?? e.message ?? error}`);
  process.exit(1);
}
