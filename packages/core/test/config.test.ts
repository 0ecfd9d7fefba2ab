/**
 * Deployed, the core reads its database, bucket and admin token from SST's links
 * (SST_RESOURCE_* in the function's environment); locally, environment variables win.
 * `sst` reads the environment once per process, so each case runs in a fresh one.
 */
import { execFileSync } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";

const CONFIG = path.resolve(import.meta.dirname, "../src/config/index.ts");
const DRIZZLE = path.resolve(import.meta.dirname, "../src/drizzle/index.ts");

/** What Config answers in a fresh process with exactly this environment. */
function configUnder(env: Record<string, string>) {
  const script = `
    const { Config } = await import(${JSON.stringify(CONFIG)});
    const attempt = (f) => { try { return f(); } catch (e) { return "error: " + e.message; } };
    console.log(JSON.stringify({
      databaseUrl: attempt(() => Config.databaseUrl()),
      databaseSsl: attempt(() => Config.databaseSsl()),
      bucket: attempt(() => Config.bucket()),
      adminToken: attempt(() => Config.adminToken()) ?? null,
    }));`;
  const out = execFileSync(
    process.execPath,
    ["--import", "tsx", "--input-type=module", "-e", script],
    {
      env: { PATH: process.env.PATH ?? "", ...env },
      encoding: "utf8",
    },
  );
  return JSON.parse(out.trim().split("\n").at(-1)!);
}

const LINKED = {
  SST_RESOURCE_Database: JSON.stringify({
    host: "fred.proxy-abc.us-east-1.rds.amazonaws.com",
    port: 5432,
    username: "postgres",
    password: "p@ss/word:1",
    database: "fred_platform",
  }),
  SST_RESOURCE_Uploads: JSON.stringify({ name: "fred-production-uploads-abc" }),
  SST_RESOURCE_AdminToken: JSON.stringify({ value: "adm_secret" }),
};

describe("Config", () => {
  it("under SST links: the linked database (TLS required), bucket and admin token", () => {
    const config = configUnder(LINKED);
    const url = new URL(config.databaseUrl);
    expect(url.hostname).toBe("fred.proxy-abc.us-east-1.rds.amazonaws.com");
    expect(decodeURIComponent(url.password)).toBe("p@ss/word:1");
    expect(url.pathname).toBe("/fred_platform");
    expect(config).toMatchObject({
      databaseSsl: "require",
      bucket: "fred-production-uploads-abc",
      adminToken: "adm_secret",
    });
    expect(configUnder({ ...LINKED, DB_SSL: "verify-full" }).databaseSsl).toBe("verify-full");
  });

  it("under sst dev: the link is the local Postgres, which has no TLS", () => {
    const local = (host: string) => ({
      ...LINKED,
      SST_RESOURCE_Database: JSON.stringify({ ...JSON.parse(LINKED.SST_RESOURCE_Database), host }),
    });
    for (const host of ["127.0.0.1", "localhost", "127.0.1.1"]) {
      expect(configUnder(local(host)).databaseSsl).toBe(false);
    }
    expect(configUnder({ ...local("127.0.0.1"), DB_SSL: "require" }).databaseSsl).toBe("require");
  });

  it("under sst dev: a handler reaches the local Postgres through the link", () => {
    // This run's test database, given as SST gives the sst dev link (no DATABASE_URL).
    const url = new URL(process.env.DATABASE_URL!);
    const link = {
      host: url.hostname,
      port: Number(url.port),
      username: decodeURIComponent(url.username),
      password: decodeURIComponent(url.password),
      database: url.pathname.slice(1),
    };
    const script = `
      const { sql, closeDb } = await import(${JSON.stringify(DRIZZLE)});
      const [row] = await sql()\`select 1 as one\`;
      await closeDb();
      console.log(JSON.stringify(row));`;
    const out = execFileSync(
      process.execPath,
      ["--import", "tsx", "--input-type=module", "-e", script],
      {
        env: { PATH: process.env.PATH ?? "", SST_RESOURCE_Database: JSON.stringify(link) },
        encoding: "utf8",
      },
    );
    expect(JSON.parse(out.trim().split("\n").at(-1)!)).toEqual({ one: 1 });
  });

  it("locally: environment variables, no TLS, and a clear error when nothing is set", () => {
    expect(configUnder({ DATABASE_URL: "postgres://u:p@127.0.0.1:5/db", S3_BUCKET: "b" })).toEqual({
      databaseUrl: "postgres://u:p@127.0.0.1:5/db",
      databaseSsl: false,
      bucket: "b",
      adminToken: null,
    });
    const none = configUnder({});
    expect(none.databaseUrl).toMatch(/^error: .*DATABASE_URL/);
    expect(none.bucket).toMatch(/^error: .*S3_BUCKET/);
  });
});
