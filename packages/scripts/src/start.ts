/**
 * `pnpm start`: the whole service on this machine, from a clean clone, with only Node.
 * Postgres and S3 are real servers on loopback (see local/services.ts); the API is the
 * same Hono app Lambda runs. Ctrl-C stops everything.
 */
import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { STATE, startServices } from "./local/services";

const log = (line: string) => console.log(`[fred] ${line}`);
const services = await startServices(log);

process.env.DATABASE_URL = services.databaseUrl;
process.env.S3_ENDPOINT = services.s3Endpoint;
process.env.S3_BUCKET = services.bucket;
process.env.ALLOWED_ORIGINS ??= "http://localhost:5173,http://127.0.0.1:5173";
process.env.ADMIN_TOKEN ??= await persisted(
  "admin-token",
  () => `adm_${randomBytes(24).toString("base64url")}`,
);

// Imported only now: the core reads its configuration from the environment set above.
const { listen } = await import("@fred/functions/local");
const { closeDb } = await import("@fred/core/drizzle");
const devToken = await developerToken();

const port = Number(process.env.PORT ?? 3000);
const host = process.env.HOST ?? "127.0.0.1";
const server = await listen(port, host);
const base = `http://${host}:${port}`;

console.log(`
  FRED platform is running.

  API        ${base}
  Docs       ${base}/docs        (OpenAPI: ${base}/openapi.json)
  Health     ${base}/health

  Admin token (ADMIN_TOKEN):     ${process.env.ADMIN_TOKEN}
  Developer token (user "dev"):  ${devToken}

  Try:  curl -H "Authorization: Bearer ${devToken}" ${base}/api/v1/registration

  State is kept in .local/ (delete it to start afresh). Ctrl-C stops everything.
`);

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  log(`${signal}: stopping`);
  server.close();
  await closeDb().catch(() => {});
  await services.stop();
  process.exit(0);
}
process.on("SIGINT", () => void shutdown("SIGINT"));
process.on("SIGTERM", () => void shutdown("SIGTERM"));

/** A value kept in .local/<name> so it stays the same across restarts. */
async function persisted(name: string, make: () => string): Promise<string> {
  const file = path.join(STATE, name);
  const existing = await readFile(file, "utf8").catch(() => "");
  if (existing.trim()) return existing.trim();
  const value = make();
  await mkdir(STATE, { recursive: true });
  await writeFile(file, value, { mode: 0o600 });
  return value;
}

/** The "dev" user's token: reused while it verifies, otherwise a new user and token. */
async function developerToken(): Promise<string> {
  const { Token, User } = await import("@fred/core/user");
  const file = path.join(STATE, "dev-token");
  const saved = (await readFile(file, "utf8").catch(() => "")).trim();
  if (saved) {
    const valid = await Token.verify(saved).then(
      () => true,
      () => false,
    );
    if (valid) return saved;
  }
  const { token } = await User.provision({ name: "dev", label: "pnpm start" });
  await mkdir(STATE, { recursive: true });
  await writeFile(file, token.token, { mode: 0o600 });
  return token.token;
}
