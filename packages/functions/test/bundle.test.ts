/**
 * The Lambda packages as `sst deploy` builds them (esbuild, ESM, minified, node22 target, the
 * createRequire banner; see packages/scripts/src/bundle.ts), loaded in a fresh Node process
 * the way Lambda loads them: the migrator applies its copied migrations/ to an empty
 * database, and the API answers real API Gateway REST proxy events.
 */

import { execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { builtinModules, createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { gunzipSync } from "node:zlib";
import { build } from "esbuild";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import plugins from "../../../infra/esbuild-plugins.mjs";
import {
  BANNER,
  type Bundle,
  bundleHandler,
  invokeBundle,
  ROOT,
  runBundle,
} from "../../scripts/src/bundle";
import { createTestDatabase } from "../../scripts/src/test/database";
import { restEvent } from "./rest-event";

const work = await mkdtemp(path.join(tmpdir(), "fred-bundle-"));
afterAll(() => rm(work, { recursive: true, force: true }));

const builtins = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);

/** The environment the app reads, taken from this test file's setup (its own database). */
function appEnv(overrides: Record<string, string> = {}) {
  const keys = [
    "DATABASE_URL",
    "S3_ENDPOINT",
    "S3_BUCKET",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "ADMIN_TOKEN",
    "ALLOWED_ORIGINS",
  ];
  return {
    ...Object.fromEntries(keys.map((k) => [k, process.env[k]])),
    LOG_LEVEL: "silent",
    ...overrides,
  };
}

/** Node's modules that any ESM file loads, on this Node: no import brings these. */
async function loadedByAnyEsm(): Promise<string[]> {
  const file = path.join(work, "empty.mjs");
  await writeFile(file, "console.log(JSON.stringify(process.moduleLoadList));");
  const list = JSON.parse(execFileSync(process.execPath, [file]).toString()) as string[];
  return list.map((m) => m.replace(/^NativeModule /, ""));
}

async function publicTables(url: string): Promise<string[]> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const rows = await sql<{ name: string }[]>`
      select table_name as name from information_schema.tables
      where table_schema = 'public' order by table_name`;
    return rows.map((r) => r.name);
  } finally {
    await sql.end();
  }
}

describe("migrator bundle", () => {
  let bundle: Bundle;
  beforeAll(async () => {
    bundle = await bundleHandler({
      handler: "packages/functions/src/migrator.handler",
      outdir: path.join(work, "migrator"),
      copyFiles: [{ from: "migrations", to: "migrations" }],
    });
  }, 60_000);

  it("is one ESM file that needs nothing but Node built-ins", () => {
    expect(bundle.lambdaHandler).toBe("migrator.handler");
    expect(bundle.file.endsWith(".mjs")).toBe(true);
    expect(bundle.externalImports.filter((m) => !builtins.has(m))).toEqual([]);
  });

  it("applies its copied migrations/ to an empty database, idempotently", async () => {
    const empty = await createTestDatabase(inject("adminDatabaseUrl"), "template0");
    expect(await publicTables(empty)).toEqual([]);

    const journal = JSON.parse(
      await readFile(path.join(ROOT, "migrations/meta/_journal.json"), "utf8"),
    ) as { entries: unknown[] };
    const env = { DATABASE_URL: empty, LOG_LEVEL: "silent" };
    const [first] = await invokeBundle<{ applied: number }>(bundle, [{}], { env });
    expect(first?.applied).toBe(journal.entries.length);

    // The same tables as the template the other tests run on (migrated by drizzle-kit's path).
    const tables = await publicTables(empty);
    expect(tables.length).toBeGreaterThan(0);
    expect(tables).toEqual(await publicTables(process.env.DATABASE_URL!));

    const [second] = await invokeBundle<{ applied: number }>(bundle, [{}], { env });
    expect(second?.applied).toBe(journal.entries.length);
  });

  it("fails (and so fails the deploy) when the database stays unreachable", async () => {
    const env = {
      DATABASE_URL: "postgres://postgres:postgres@127.0.0.1:1/postgres",
      MIGRATOR_WAIT_MS: "1500",
    };
    await expect(invokeBundle(bundle, [{}], { env })).rejects.toThrow(
      /exited with 1[\s\S]*ECONNREFUSED/,
    );
  });
});

type ProxyResult = {
  statusCode: number;
  headers?: Record<string, string>;
  multiValueHeaders?: Record<string, string[]>;
  body: string;
  isBase64Encoded?: boolean;
};

const header = (res: ProxyResult, name: string) =>
  res.headers?.[name] ?? res.multiValueHeaders?.[name]?.[0];

describe("API bundle", () => {
  let bundle: Bundle;
  beforeAll(async () => {
    bundle = await bundleHandler({
      handler: "packages/functions/src/api.handler",
      outdir: path.join(work, "api"),
    });
  }, 60_000);

  it("is ESM that needs nothing but Node built-ins, and a cold start reads under 1 MB", () => {
    expect(bundle.lambdaHandler).toBe("api.handler");
    expect(bundle.externalImports.filter((m) => !builtins.has(m))).toEqual([]);
    // /openapi.json serves the document `pnpm openapi` wrote: no generator is deployed (it
    // needs all of zod, which would then load with every cold start).
    expect(bundle.packages).toContain("zod");
    expect(bundle.packages).not.toContain("@hono/zod-openapi");
    expect(bundle.packages).not.toContain("@asteasolutions/zod-to-openapi");
    // The S3 SDK sits in chunks imported on the first presign, not in what every cold start reads.
    expect(bundle.startBytes).toBeLessThan(1024 * 1024);
  });

  it("loads the S3 chunks when a request first needs them: a presigned URL that works", async () => {
    const { User } = await import("@fred/core/user");
    const { token } = await User.provision({ name: "bundle" });
    const auth = { authorization: `Bearer ${token.token}`, "content-type": "application/json" };
    const register = restEvent("POST", "/jobs/register", { headers: auth, body: '{"tags":[]}' });
    const [job] = await invokeBundle<ProxyResult>(bundle, [register], { env: appEnv() });
    const jobId = JSON.parse(job!.body).id as number;
    const upload = restEvent("POST", "/jobs", {
      headers: auth,
      body: JSON.stringify({ jobId, context: "job", type: "config" }),
    });
    const [presigned] = await invokeBundle<ProxyResult>(bundle, [upload], { env: appEnv() });
    expect(presigned?.statusCode).toBe(200);
    const put = await fetch(JSON.parse(presigned!.body).url, { method: "PUT", body: "{}" });
    expect(put.status).toBe(200);
  });

  it("answers a cold start's first requests without loading Node's fetch classes", async () => {
    // Node loads Headers, Request and Response (undici, web streams) on first use of any:
    // ~15 ms of a cold start. Requests answered with text or bytes need none of them.
    const { User } = await import("@fred/core/user");
    const { runRequest } = await import("./helpers");
    const { token } = await User.provision({ name: "cold" });
    const auth = { authorization: `Bearer ${token.token}`, "content-type": "application/json" };
    const origin = process.env.ALLOWED_ORIGINS!.split(",")[0]!;
    // A job with 100 runs, from another process: its page is long enough to be compressed.
    const [created] = await invokeBundle<ProxyResult>(
      bundle,
      [restEvent("POST", "/api/v1/jobs", { headers: auth, body: '{"name":"cold"}' })],
      { env: appEnv() },
    );
    const jobId = JSON.parse(created!.body).id as number;
    const runs = Array.from({ length: 100 }, () => runRequest(jobId));
    await invokeBundle(
      bundle,
      [restEvent("POST", "/api/v1/runs", { headers: auth, body: JSON.stringify({ runs }) })],
      { env: appEnv() },
    );
    const { results, builtins } = await runBundle<ProxyResult>(
      bundle,
      [
        restEvent("GET", "/health"),
        restEvent("POST", "/jobs/register", { headers: auth, body: '{"tags":["cold"]}' }),
        restEvent("POST", "/api/v1/jobs", {
          headers: { ...auth, "idempotency-key": "cold-1" },
          body: '{"name":"once"}',
        }),
        restEvent("GET", `/api/v1/jobs/${jobId}/runs`, {
          headers: { ...auth, "accept-encoding": "gzip" },
        }),
        restEvent("OPTIONS", "/api/v1/jobs", {
          headers: { origin, "access-control-request-method": "POST" },
        }),
        restEvent("GET", "/api/v1/jobs"),
        restEvent("DELETE", "/health"),
      ],
      { env: appEnv() },
    );
    expect(results.map((r) => r.statusCode)).toEqual([200, 200, 201, 200, 204, 401, 405]);
    expect(results[3]!.multiValueHeaders?.["content-encoding"]).toEqual(["gzip"]);
    const page = JSON.parse(gunzipSync(Buffer.from(results[3]!.body, "base64")).toString());
    expect(page.runs).toHaveLength(100);
    expect(results[4]!.multiValueHeaders?.["access-control-allow-origin"]).toEqual([origin]);
    expect(results[5]!.multiValueHeaders?.["www-authenticate"]).toBeDefined();
    expect(builtins.filter((m) => m.includes("undici"))).toEqual([]);
  });

  it("loads Node's built-ins without their ESM facades' lazy parts", async () => {
    // An ESM import of a built-in reads each of its exports, running every lazy getter:
    // fs.promises (and readline), crypto.webcrypto, process.report, worker_threads…
    // ~4 ms of a cold start (infra/esbuild-plugins.mjs, builtinsWithoutFacades).
    const { results, builtins } = await runBundle<ProxyResult>(
      bundle,
      [restEvent("GET", "/health")],
      { env: appEnv() },
    );
    expect(results[0]?.statusCode).toBe(200);
    expect(builtins).toContain("tls"); // postgres.js's, loaded as the module itself
    const anyEsm = await loadedByAnyEsm();
    const facadeOnly = [
      "internal/fs/promises",
      "internal/readline/interface",
      "internal/crypto/webcrypto",
      "internal/process/report",
      "worker_threads",
    ].filter((m) => !anyEsm.includes(m)); // Node 20's ESM loader needs fs/promises
    expect(facadeOnly).toContain("internal/crypto/webcrypto");
    expect(builtins.filter((m) => facadeOnly.includes(m))).toEqual([]);
  });

  it("answers REST proxy events: /health, an unknown path, CORS preflight, /openapi.json", async () => {
    const origin = process.env.ALLOWED_ORIGINS!.split(",")[0]!;
    const [health, missing, preflight, openapi] = await invokeBundle<ProxyResult>(
      bundle,
      [
        restEvent("GET", "/health"),
        restEvent("GET", "/no/such/route"),
        restEvent("OPTIONS", "/api/v1/jobs", {
          headers: {
            origin,
            "access-control-request-method": "POST",
            "access-control-request-headers": "authorization,content-type",
          },
        }),
        restEvent("GET", "/openapi.json"),
      ],
      { env: appEnv() },
    );

    expect(health?.statusCode).toBe(200);
    expect(header(health!, "content-type")).toMatch(/application\/json/);
    expect(JSON.parse(health!.body)).toMatchObject({ status: "healthy" });

    expect(missing?.statusCode).toBe(404);
    expect(header(missing!, "content-type")).toMatch(/application\/json/);
    expect(JSON.parse(missing!.body)).toMatchObject({ error: { code: "not_found" } });

    expect(preflight?.statusCode).toBeLessThan(300);
    expect(header(preflight!, "access-control-allow-origin")).toBe(origin);

    // The committed document, from its own chunk (the bundle holds no OpenAPI generator).
    expect(openapi?.statusCode).toBe(200);
    const { OPENAPI_FILE } = await import("../src/api/openapi");
    expect(JSON.parse(openapi!.body)).toEqual(JSON.parse(await readFile(OPENAPI_FILE, "utf8")));
  });

  it("reports 503 unhealthy when the database cannot be reached", async () => {
    const [health] = await invokeBundle<ProxyResult>(bundle, [restEvent("GET", "/health")], {
      env: appEnv({
        DATABASE_URL: "postgres://postgres:postgres@127.0.0.1:1/postgres",
        DB_CONNECT_TIMEOUT: "2",
      }),
    });
    expect(health?.statusCode).toBe(503);
    expect(JSON.parse(health!.body)).toMatchObject({ status: "unhealthy" });
  });
});

describe("the deployed esbuild plugins", () => {
  it("leave out drizzle's column types our tables do not import; pgTable's callback form fails, saying why", async () => {
    const outdir = path.join(work, "callback-table");
    const result = await build({
      stdin: {
        contents: `import { pgTable, integer } from "drizzle-orm/pg-core";
          export const objectForm = pgTable("a", { id: integer() });
          export const callbackForm = pgTable("b", (t) => ({ id: t.integer() }));`,
        resolveDir: path.join(ROOT, "packages/core"),
        loader: "ts",
      },
      outdir,
      bundle: true,
      format: "esm",
      platform: "node",
      outExtension: { ".js": ".mjs" },
      plugins,
      metafile: true,
      logLevel: "silent",
    });
    // Files with code in the output (the inputs list every file read, tree-shaken or not).
    const columns = Object.values(result.metafile.outputs)
      .flatMap((o) => Object.entries(o.inputs))
      .filter(([f, input]) => f.includes("pg-core/columns/") && input.bytesInOutput > 0)
      .map(([f]) => f);
    expect(columns.some((f) => f.endsWith("/integer.js"))).toBe(true);
    expect(columns.filter((f) => /\/(point|vector|geometry|inet|interval)\.js$/.test(f))).toEqual(
      [],
    );
    const child = spawnSync(process.execPath, [path.join(outdir, "stdin.mjs")], {
      encoding: "utf8",
    });
    expect(child.status).not.toBe(0);
    expect(child.stderr).toContain("pgTable's callback form is not bundled");
  });

  it("give each file Node's built-in modules themselves, their getters run when that file loads", async () => {
    const outdir = path.join(work, "builtins");
    const src = path.join(outdir, "src");
    await mkdir(src, { recursive: true });
    await writeFile(
      path.join(src, "main.js"),
      `import fs, { readFileSync } from "fs";
       import * as crypto from "node:crypto";
       import process from "process";
       const loaded = (m) => process.moduleLoadList.includes("NativeModule " + m);
       const before = loaded("internal/crypto/webcrypto");
       const later = await import("./later.js");
       console.log(JSON.stringify({
         before,
         after: loaded("internal/crypto/webcrypto"),
         same: readFileSync === require("fs").readFileSync && fs === require("fs") &&
           crypto.createHash === require("crypto").createHash && process === globalThis.process,
         getter: later.webcrypto === require("crypto").webcrypto,
       }));`,
    );
    // crypto's ESM facade reads crypto.webcrypto, a getter that loads Web Crypto.
    await writeFile(path.join(src, "later.js"), `export { webcrypto } from "node:crypto";`);
    await build({
      entryPoints: [path.join(src, "main.js")],
      outdir,
      outExtension: { ".js": ".mjs" },
      bundle: true,
      splitting: true,
      format: "esm",
      platform: "node",
      banner: { js: BANNER },
      plugins,
      logLevel: "silent",
    });
    const child = spawnSync(process.execPath, [path.join(outdir, "main.mjs")], {
      encoding: "utf8",
    });
    expect(child.stderr).toBe("");
    expect(JSON.parse(child.stdout)).toEqual({
      before: false,
      after: true,
      same: true,
      getter: true,
    });
  });

  it("are applied by SST's own bridge, as sst deploy runs them", async () => {
    // sst deploy builds in Go and hands every file to .sst/platform's plugin.mjs, which
    // runs our plugins in Node: the same loads must come back from it.
    execFileSync(process.execPath, ["--import", "tsx", "packages/scripts/src/sst-install.ts"], {
      cwd: ROOT,
      stdio: "ignore",
    });
    const bridge = spawn(
      process.execPath,
      [
        ".sst/platform/functions/nodejs-runtime/plugin.mjs",
        path.join(ROOT, "infra/esbuild-plugins.mjs"),
      ],
      { cwd: ROOT, stdio: ["pipe", "pipe", "inherit"] },
    );
    try {
      const inCore = (file: string) =>
        createRequire(path.join(ROOT, "packages/core/package.json")).resolve(file);
      const files = [
        path.join(path.dirname(inCore("zod")), "v4/locales/index.js"),
        path.join(path.dirname(inCore("drizzle-orm/pg-core")), "columns/all.js"),
        inCore("drizzle-orm/pg-core"),
      ];
      const importer = inCore("postgres");
      const builtin = `node:fs?for=${importer}`;
      const resolves = [
        { path: "fs", namespace: "file", kind: "import-statement" },
        { path: "postgres", namespace: "file", kind: "import-statement" },
        { path: "fs", namespace: "file", kind: "require-call" },
      ];
      const messages = [
        ...files.map((file) => ({
          command: "load",
          value: { path: file, namespace: "file", suffix: "", pluginData: null, with: {} },
        })),
        { command: "load", value: { path: builtin, namespace: "node-builtin", suffix: "" } },
        ...resolves.map((r) => ({
          command: "resolve",
          value: { ...r, importer, resolveDir: path.dirname(importer), pluginData: null, with: {} },
        })),
      ];
      const replies = new Map<number, Record<string, unknown>>();
      const lines = createInterface({ input: bridge.stdout! });
      const all = new Promise<void>((resolve) =>
        lines.on("line", (line) => {
          const reply = JSON.parse(line) as { id: number; value: Record<string, unknown> };
          replies.set(reply.id, reply.value);
          if (replies.size === messages.length) resolve();
        }),
      );
      // As SST's Go side sends them (pkg/runtime/node/plugin.go).
      messages.forEach((message, id) => {
        bridge.stdin!.write(`${JSON.stringify({ id, ...message })}\n`);
      });
      await all;
      expect(replies.get(0)?.contents).toContain('export { default as en } from "./en.js"');
      expect(replies.get(1)?.contents).toContain("pgTable's callback form is not bundled");
      expect(replies.get(2)).toEqual({});
      expect(replies.get(3)?.contents).toContain('getBuiltinModule("node:fs")');
      expect(replies.get(4)).toEqual({
        path: builtin,
        namespace: "node-builtin",
        sideEffects: false,
      });
      expect(replies.get(5)).toEqual({});
      expect(replies.get(6)).toEqual({});
    } finally {
      bridge.kill();
    }
  });
});
