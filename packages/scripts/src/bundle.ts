/**
 * Bundles a Lambda handler the way `sst deploy` does for `runtime: "nodejs22.x"` with
 * `nodejs: { format: "esm", minify: true, splitting: true, plugins }` (infra/api.ts; SST's
 * pkg/runtime/node/build.go): esbuild ESM, entry `<name>.mjs` plus chunks, platform node,
 * the plugins of infra/esbuild-plugins.mjs, minified, names kept, `module` before `main`, the
 * createRequire / __filename / __dirname banner that lets bundled CommonJS code run as ESM,
 * then `copyFiles` next to it. SST leaves esbuild's target at `esnext`; this pins `node22`,
 * the Lambda runtime, so esbuild lowers (or refuses) any syntax newer than Node 22. The
 * bundle tests import the result in a fresh Node process, so what they exercise is what
 * Lambda would load.
 *
 *   tsx packages/scripts/src/bundle.ts packages/functions/src/api.handler [outdir]
 */
import { spawn } from "node:child_process";
import { cp, mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build, type Metafile } from "esbuild";
import plugins from "../../../infra/esbuild-plugins.mjs";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

/** SST's banner, verbatim in effect: CommonJS dependencies need require/__dirname in ESM. */
export const BANNER = [
  `import { createRequire as topLevelCreateRequire } from 'module';`,
  `const require = topLevelCreateRequire(import.meta.url);`,
  `import { fileURLToPath as topLevelFileUrlToPath, URL as topLevelURL } from "url"`,
  `const __filename = topLevelFileUrlToPath(import.meta.url)`,
  `const __dirname = topLevelFileUrlToPath(new topLevelURL(".", import.meta.url))`,
].join("\n");

/** Packages SST always leaves out of the bundle (native addons). */
const FORCE_EXTERNAL = ["sharp", "pg-native"];

export interface BundleOptions {
  /** SST handler string, relative to the repository root: `path/to/file.exportName`. */
  handler: string;
  /** Empty directory to write the package into (it is cleared first). */
  outdir: string;
  /** Like sst.aws.Function's copyFiles: paths relative to the repository root. */
  copyFiles?: { from: string; to?: string }[];
  /** Node version of the Lambda runtime (nodejs22.x). */
  target?: string;
  minify?: boolean;
  /** Like `nodejs.splitting`: dynamic imports become chunks loaded when first used. */
  splitting?: boolean;
}

export interface Bundle {
  /** The .mjs file Lambda loads. */
  file: string;
  /**
   * Bytes of the entry file, the chunks it imports statically and those its own top level
   * awaits: what a cold start reads.
   */
  startBytes: number;
  /** The handler's export name. */
  exportName: string;
  /** Handler setting as Lambda sees it, e.g. `api.handler`. */
  lambdaHandler: string;
  bytes: number;
  /** Modules the bundle still imports at run time (must be Node built-ins). */
  externalImports: string[];
  /** npm packages with code in the bundle (any chunk). */
  packages: string[];
}

export async function bundleHandler(options: BundleOptions): Promise<Bundle> {
  const dot = options.handler.lastIndexOf(".");
  if (dot < 0) throw new Error(`Handler "${options.handler}" must be path/to/file.exportName`);
  const exportName = options.handler.slice(dot + 1);
  const base = options.handler.slice(0, dot);
  const entry = await firstExisting(
    [".ts", ".mts", ".js", ".mjs"].map((ext) => path.join(ROOT, base + ext)),
  );
  const name = path.basename(base).replaceAll(".", "-");
  const file = path.join(options.outdir, `${name}.mjs`);

  await rm(options.outdir, { recursive: true, force: true });
  await mkdir(options.outdir, { recursive: true });
  const result = await build({
    entryPoints: { [name]: entry },
    outdir: options.outdir,
    outExtension: { ".js": ".mjs" },
    splitting: options.splitting ?? true,
    chunkNames: "chunk.[hash]",
    plugins,
    bundle: true,
    platform: "node",
    format: "esm",
    target: options.target ?? "node22",
    mainFields: ["module", "main"],
    keepNames: true,
    minify: options.minify ?? true,
    sourcemap: false,
    external: FORCE_EXTERNAL,
    banner: { js: BANNER },
    metafile: true,
    logLevel: "silent",
  });
  if (result.errors.length) throw new Error(result.errors.map((e) => e.text).join("\n"));

  for (const copy of options.copyFiles ?? []) {
    await cp(path.join(ROOT, copy.from), path.join(options.outdir, copy.to ?? copy.from), {
      recursive: true,
    });
  }
  const outputs = Object.values(result.metafile.outputs);
  const externalImports = [
    ...new Set(outputs.flatMap((o) => o.imports.filter((i) => i.external).map((i) => i.path))),
  ].sort();
  const byFile = result.metafile.outputs;
  const main = Object.keys(byFile).find((o) => path.resolve(o) === file);
  const start = main ? startOutputs(result.metafile, main) : [];
  return {
    file,
    exportName,
    lambdaHandler: `${name}.${exportName}`,
    bytes: (await stat(file)).size,
    startBytes: start.reduce((sum, o) => sum + (byFile[o]?.bytes ?? 0), 0),
    externalImports,
    packages: packagesIn(outputs.flatMap((o) => Object.keys(o.inputs))),
  };
}

/** The npm package an input file belongs to (`zod`, `@aws-sdk/client-s3`), if any. */
export function npmPackage(file: string): string | undefined {
  const i = file.lastIndexOf("node_modules/");
  if (i < 0) return undefined;
  const [scope, name] = file.slice(i + "node_modules/".length).split("/");
  return scope!.startsWith("@") ? `${scope}/${name}` : scope!;
}

function packagesIn(files: string[]): string[] {
  return [...new Set(files.map(npmPackage).filter((p) => p !== undefined))].sort();
}

/**
 * The outputs a cold start loads: the entry's chunk, the chunks it imports statically, and
 * those of the dynamic imports written in the entry file itself, which it awaits at its top
 * level (api.ts imports the app while the database connection opens).
 */
export function startOutputs(metafile: Metafile, entryOutput: string): string[] {
  const seen = new Set<string>();
  const visit = (key: string) => {
    const output = metafile.outputs[key];
    if (seen.has(key) || !output) return;
    seen.add(key);
    for (const i of output.imports) if (i.kind === "import-statement" && !i.external) visit(i.path);
  };
  visit(entryOutput);
  const source = metafile.outputs[entryOutput]?.entryPoint;
  const awaited = new Set(
    (source ? (metafile.inputs[source]?.imports ?? []) : [])
      .filter((i) => i.kind === "dynamic-import")
      .map((i) => i.path),
  );
  for (const [key, output] of Object.entries(metafile.outputs)) {
    if (output.entryPoint && awaited.has(output.entryPoint)) visit(key);
  }
  return [...seen];
}

async function firstExisting(files: string[]): Promise<string> {
  for (const file of files) {
    if (
      await stat(file).then(
        (s) => s.isFile(),
        () => false,
      )
    )
      return file;
  }
  throw new Error(`No handler file: ${files.join(", ")}`);
}

export interface InvokeOptions {
  /** Environment of the child process (nothing is inherited unless passed). */
  env: Record<string, string | undefined>;
  timeoutMs?: number;
}

/**
 * Imports the bundle in a fresh `node` process with Lambda's working directory and
 * LAMBDA_TASK_ROOT (the bundle's directory), calls the handler with each event in turn, and
 * returns what it returned. The process exits afterwards, open connections or not.
 */
export async function invokeBundle<T = unknown>(
  bundle: Bundle,
  events: unknown[],
  options: InvokeOptions,
): Promise<T[]> {
  return (await runBundle<T>(bundle, events, options)).results;
}

/** `invokeBundle`, and the Node built-in modules the process had loaded at the end. */
export async function runBundle<T = unknown>(
  bundle: Bundle,
  events: unknown[],
  options: InvokeOptions,
): Promise<{ results: T[]; builtins: string[] }> {
  const dir = path.dirname(bundle.file);
  const io = path.join(dir, `.invoke-${process.pid}-${Date.now()}`);
  await mkdir(io, { recursive: true });
  const input = path.join(io, "events.json");
  const output = path.join(io, "results.json");
  const runner = path.join(io, "runner.mjs");
  await writeFile(input, JSON.stringify(events));
  await writeFile(
    runner,
    `import { readFileSync, writeFileSync } from "node:fs";
const [bundle, exportName, input, output] = process.argv.slice(2);
const mod = await import(bundle);
const handler = mod[exportName];
if (typeof handler !== "function") throw new Error("no export " + exportName);
const results = [];
for (const [i, event] of JSON.parse(readFileSync(input, "utf8")).entries()) {
  const context = { awsRequestId: "bundle-test-" + i, functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    getRemainingTimeInMillis: () => 20000, callbackWaitsForEmptyEventLoop: true };
  results.push(await handler(event, context));
}
const builtins = process.moduleLoadList.filter((m) => m.startsWith("NativeModule ")).map((m) => m.slice(13));
writeFileSync(output, JSON.stringify({ results, builtins }));
process.exit(0);
`,
  );
  const env = Object.fromEntries(
    Object.entries({
      PATH: process.env.PATH,
      LAMBDA_TASK_ROOT: dir,
      AWS_LAMBDA_FUNCTION_NAME: "fred-bundle-test",
      AWS_REGION: "us-east-1",
      ...options.env,
    }).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
  try {
    const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>(
      (resolve, reject) => {
        const child = spawn(
          process.execPath,
          [runner, pathToFileURL(bundle.file).href, bundle.exportName, input, output],
          { cwd: dir, env, stdio: ["ignore", "ignore", "pipe"] },
        );
        let stderr = "";
        child.stderr.on("data", (chunk) => {
          stderr += chunk;
        });
        const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 30_000);
        child.on("error", reject);
        child.on("close", (code) => {
          clearTimeout(timer);
          resolve({ code, stderr });
        });
      },
    );
    if (code !== 0) throw new Error(`bundle exited with ${code}: ${stderr.trim()}`);
    return JSON.parse(await readFile(output, "utf8"));
  } finally {
    await rm(io, { recursive: true, force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [handler, outdir] = process.argv.slice(2);
  if (!handler) throw new Error("usage: bundle.ts path/to/file.exportName [outdir]");
  const bundle = await bundleHandler({
    handler,
    outdir: path.resolve(outdir ?? path.join(ROOT, "dist", path.basename(handler.split(".")[0]!))),
  });
  console.log(`${path.relative(ROOT, bundle.file)}: ${(bundle.bytes / 1024).toFixed(0)} KiB`);
}
