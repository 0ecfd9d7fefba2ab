/**
 * The bundles the figures load. The API handler and the hello-world handlers are all built
 * by packages/scripts/src/bundle.ts (`bundleHandler`: SST's esbuild settings for infra/api.ts's
 * `nodejs: { format: "esm", minify: true, splitting: true, plugins }`), so they differ only
 * in their code.
 *
 * `buildVariant` rebuilds with the same settings but chosen options (code splitting, the
 * plugins, names kept or not, any entry) for the diagnosis of the cold start: it keeps
 * esbuild's metafile, which says which package put how many bytes into which chunk.
 */
import { mkdir, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { build, type Metafile, type Plugin } from "esbuild";
import {
  BANNER,
  type Bundle,
  bundleHandler,
  npmPackage,
  ROOT,
  startOutputs,
} from "../../packages/scripts/src/bundle";

export type { Bundle };
export { ROOT };

const FUNCTIONS_MODULES = path.join(ROOT, "packages/functions/node_modules");
const CORE_MODULES = path.join(ROOT, "packages/core/node_modules");

export async function gzipSize(file: string): Promise<number> {
  return gzipSync(await readFile(file)).length;
}

/** Bytes of `files` together, as they are and gzipped one by one (as a deployment zip holds them). */
export async function sizeOf(files: string[]): Promise<{ raw: number; gzip: number }> {
  let raw = 0;
  let gzip = 0;
  for (const file of files) {
    raw += (await stat(file)).size;
    gzip += await gzipSize(file);
  }
  return { raw, gzip };
}

export function bundleApi(outdir: string): Promise<Bundle> {
  return bundleHandler({ handler: "packages/functions/src/api.handler", outdir });
}

/** The local server's `listen(port, host)` (packages/functions/src/local.ts), bundled. */
export function bundleApiServer(outdir: string): Promise<Bundle> {
  return bundleHandler({ handler: "packages/functions/src/local.listen", outdir });
}

export const HELLO_HANDLER = `
import { Hono } from "hono";
import { handle } from "hono/aws-lambda";

const app = new Hono();
app.get("/health", (c) => c.json({ status: "healthy" }));
app.get("/hello", (c) => c.json({ hello: "world" }));
export const handler = handle(app);
`;

/**
 * Hello-world plus one database connection: its one route opens a postgres.js client (the
 * API's driver and options that matter here) and runs `select 1`, as the API's /health does.
 * `readArrayTypes`: as postgres.js does by default (fetch_types), which the API turns off.
 */
export const helloDbHandler = (readArrayTypes = false) => `
import { Hono } from "hono";
import { handle } from "hono/aws-lambda";
import postgres from "postgres";

let sql;
const app = new Hono();
app.get("/health", async (c) => {
  sql ??= postgres(process.env.DATABASE_URL, {
    prepare: false, max: 1, fetch_types: ${readArrayTypes}, onnotice: () => {},
  });
  await sql\`select 1\`;
  return c.json({ status: "healthy" });
});
export const handler = handle(app);
`;

export const HELLO_SERVER = `
import { serve } from "@hono/node-server";
import { Hono } from "hono";

const app = new Hono();
app.get("/hello", (c) => c.json({ hello: "world" }));
export function listen(port, hostname = "127.0.0.1") {
  return new Promise((resolve) => {
    const server = serve({ fetch: app.fetch, port, hostname }, () => resolve(server));
  });
}
`;

/**
 * Bundles a hello-world source through the same `bundleHandler`. The source lives in the
 * work directory with a node_modules link to packages/functions' dependencies, so it
 * resolves exactly the hono and @hono/node-server versions the API uses.
 */
export async function bundleSource(
  source: string,
  name: string,
  exportName: string,
  workdir: string,
): Promise<Bundle> {
  const src = path.join(workdir, `${name}-src`);
  await mkdir(src, { recursive: true });
  await writeFile(path.join(src, `${name}.ts`), source);
  await symlink(FUNCTIONS_MODULES, path.join(src, "node_modules"), "dir").catch((e) => {
    if ((e as { code?: string }).code !== "EEXIST") throw e;
  });
  const handler = `${path.relative(ROOT, path.join(src, name))}.${exportName}`;
  return bundleHandler({ handler, outdir: path.join(workdir, name) });
}

/** The plugins infra/api.ts deploys with (sst.aws.Function `nodejs.plugins`). */
export {
  builtinsWithoutFacades,
  default as deployedPlugins,
} from "../../infra/esbuild-plugins.mjs";

export interface VariantOptions {
  outdir: string;
  /** A file relative to the repository root, or source code (resolved from the API's deps). */
  entry: { file: string } | { code: string };
  splitting?: boolean;
  plugins?: Plugin[];
  /** SST always keeps names (esbuild `keepNames`); false only to measure what that costs. */
  keepNames?: boolean;
}

export interface Variant {
  /** The entry chunk Lambda imports first (its path, and its key in the metafile). */
  main: string;
  mainOutput: string;
  /** What a cold start loads (see `startOutputs`). */
  startOutputs: string[];
  startBytes: number;
  mainBytes: number;
  mainGzip: number;
  /** All chunks together. */
  totalBytes: number;
  chunks: number;
  metafile: Metafile;
}

export async function buildVariant(options: VariantOptions): Promise<Variant> {
  await rm(options.outdir, { recursive: true, force: true });
  await mkdir(options.outdir, { recursive: true });
  const entry =
    "file" in options.entry
      ? { entryPoints: { index: path.join(ROOT, options.entry.file) } }
      : {
          stdin: {
            contents: options.entry.code,
            resolveDir: path.join(ROOT, "packages/functions"),
            sourcefile: "index.ts",
            loader: "ts" as const,
          },
          nodePaths: [FUNCTIONS_MODULES, CORE_MODULES],
        };
  const result = await build({
    ...entry,
    outdir: options.outdir,
    outExtension: { ".js": ".mjs" },
    bundle: true,
    splitting: options.splitting ?? false,
    platform: "node",
    format: "esm",
    target: "node22",
    mainFields: ["module", "main"],
    keepNames: options.keepNames ?? true,
    minify: true,
    external: ["sharp", "pg-native"],
    banner: { js: BANNER },
    plugins: options.plugins ?? [],
    metafile: true,
    logLevel: "silent",
  });
  const outputs = Object.entries(result.metafile.outputs).filter(([f]) => f.endsWith(".mjs"));
  const entryPoint =
    "file" in options.entry
      ? path.relative(process.cwd(), path.join(ROOT, options.entry.file))
      : path.relative(process.cwd(), path.join(ROOT, "packages/functions/index.ts"));
  // Dynamic-import targets are entry points too; the main one is the entry we built.
  const mainOutput = outputs.find(([, o]) => o.entryPoint === entryPoint)?.[0];
  if (!mainOutput) throw new Error(`esbuild produced no chunk for ${entryPoint}`);
  const main = path.resolve(mainOutput);
  const atStart = startOutputs(result.metafile, mainOutput);
  return {
    main,
    mainOutput,
    startOutputs: atStart,
    startBytes: atStart.reduce((n, key) => n + result.metafile.outputs[key]!.bytes, 0),
    mainBytes: (await stat(main)).size,
    mainGzip: await gzipSize(main),
    totalBytes: outputs.reduce((n, [, o]) => n + o.bytes, 0),
    chunks: outputs.length,
    metafile: result.metafile,
  };
}

/**
 * Bytes each package contributes to the outputs that load with the entry chunk (the entry
 * itself and every chunk it reaches through static imports), or with `later`, to the chunks
 * only dynamic imports reach: what loads on first use.
 */
export function bytesByPackage(variant: Variant, later = false): Map<string, number> {
  const outputs = variant.metafile.outputs;
  const start = new Set(variant.startOutputs);
  const keys = Object.keys(outputs).filter((k) => k.endsWith(".mjs") && start.has(k) !== later);
  const sizes = new Map<string, number>();
  const inputs = keys.flatMap((key) => Object.entries(outputs[key]!.inputs));
  for (const [file, input] of inputs) {
    sizes.set(packageOf(file), (sizes.get(packageOf(file)) ?? 0) + input.bytesInOutput);
  }
  return new Map([...sizes].sort((a, b) => b[1] - a[1]));
}

/** `zod`, `@aws-sdk/client-s3`, or `app: packages/functions` for our own code. */
export function packageOf(file: string): string {
  const name = npmPackage(file);
  if (name === "zod" && file.includes("/locales/")) return "zod (locales)";
  if (name) return name;
  const app = file.match(/packages\/[^/]+/);
  return app ? `app: ${app[0]}` : file;
}
