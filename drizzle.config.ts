import { defineConfig } from "drizzle-kit";
import { Config } from "./packages/core/src/config";

/** Under `sst shell` the linked database; locally DATABASE_URL. Generating needs neither. */
function url(): string {
  try {
    return Config.databaseUrl();
  } catch {
    return "postgres://postgres:postgres@127.0.0.1:5432/postgres";
  }
}

export default defineConfig({
  dialect: "postgresql",
  schema: "./packages/core/src/**/*.sql.ts",
  out: "./migrations",
  dbCredentials: { url: url() },
  strict: true,
  verbose: true,
});
