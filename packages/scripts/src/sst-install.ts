/**
 * `pnpm sst:install` (and the first step of `pnpm typecheck`): writes `.sst/platform` — the
 * SST platform types and component sources that `sst.config.ts` and `infra/*.ts` are
 * checked against — on a machine with only Node and the npm registry.
 *
 * `sst install` normally downloads Pulumi and Bun from their own hosts. Instead:
 * - SST_SKIP_DEPENDENCY_CHECK=1 stops it from fetching Pulumi (install never runs Pulumi);
 * - the Bun it needs (to `bun install` the platform's npm dependencies) comes from the `bun`
 *   devDependency: the binary ships in the platform package `@oven/bun-<os>-<arch>`, or at
 *   `bun/bin/bun.exe` when bun's own install script has run. It is copied to SST's config
 *   directory (`$XDG_CONFIG_HOME/sst/bin/bun`, by default `~/.config/sst/bin/bun`).
 *
 * Idempotent and quick: it does nothing when `.sst/platform` was written for the same SST
 * version and the same `sst.config.ts` (recorded in `.sst/fred-install.json`).
 * `--force` reinstalls; `--stage <name>` picks the stage install evaluates (default dev).
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, statSync } from "node:fs";
import { chmod, copyFile, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const log = (line: string) => console.log(`[sst:install] ${line}`);

/** The directory of an installed package, as Node would find it from `from` (ignores "exports"). */
function packageDir(name: string, from: string): string | undefined {
  const paths = createRequire(path.join(from, "package.json")).resolve.paths(name) ?? [];
  for (const dir of paths) {
    if (existsSync(path.join(dir, name, "package.json"))) return path.join(dir, name);
  }
  return undefined;
}

/** Where SST looks for its config (Go's os.UserConfigDir() + "/sst"). */
function sstConfigDir(): string {
  if (process.platform === "darwin") {
    return path.join(os.homedir(), "Library", "Application Support", "sst");
  }
  if (process.platform === "win32") {
    return path.join(process.env.APPDATA ?? path.join(os.homedir(), "AppData", "Roaming"), "sst");
  }
  return path.join(process.env.XDG_CONFIG_HOME || path.join(os.homedir(), ".config"), "sst");
}

/** The platform packages of `bun` that may hold a runnable binary for this machine. */
function bunPlatformPackages(): string[] {
  const arch = process.arch === "arm64" ? "aarch64" : process.arch;
  const osName = process.platform === "win32" ? "windows" : process.platform;
  const base = `@oven/bun-${osName}-${arch}`;
  return [base, `${base}-musl`, `${base}-baseline`, `${base}-musl-baseline`];
}

/** Path of a real Bun binary installed from the npm registry (never a placeholder). */
function findBun(): string {
  const exe = process.platform === "win32" ? "bun.exe" : "bun";
  const candidates: string[] = [];
  const bunDir = packageDir("bun", root);
  // bun's postinstall moves the platform binary here (when it was allowed to run).
  if (bunDir) candidates.push(path.join(bunDir, "bin", "bun.exe"));
  for (const pkg of bunPlatformPackages()) {
    const dir = packageDir(pkg, bunDir ?? root);
    if (dir) candidates.push(path.join(dir, "bin", exe));
  }
  for (const file of candidates) {
    // The placeholder scripts bun ships before its postinstall are a few hundred bytes.
    if (existsSync(file) && statSync(file).size > 1_000_000) return file;
  }
  throw new Error(
    `No Bun binary found (looked at ${candidates.join(", ") || "nothing"}). Run pnpm install.`,
  );
}

/** Copies Bun where SST runs it from, unless an identical copy is already there. */
async function provideBun(): Promise<string> {
  const source = findBun();
  const target = path.join(sstConfigDir(), "bin", process.platform === "win32" ? "bun.exe" : "bun");
  if (existsSync(target) && statSync(target).size === statSync(source).size) return target;
  await mkdir(path.dirname(target), { recursive: true });
  const partial = `${target}.partial-${process.pid}`;
  await copyFile(source, partial);
  await chmod(partial, 0o755);
  await rename(partial, target);
  log(`bun: copied ${path.relative(root, source)} to ${target}`);
  return target;
}

function sstDir(): string {
  const dir = packageDir("sst", root);
  if (!dir) throw new Error("The sst package is not installed. Run pnpm install.");
  return dir;
}

/** The native SST CLI from its platform package (what node_modules/.bin/sst runs). */
function sstBinary(): string {
  const name = `sst-${process.platform}-${process.arch}`;
  const dir = packageDir(name, sstDir());
  if (!dir) throw new Error(`${name} is not installed. Run pnpm install.`);
  return path.join(dir, "bin", process.platform === "win32" ? "sst.exe" : "sst");
}

async function fingerprint(): Promise<string> {
  const sstVersion = JSON.parse(
    await readFile(path.join(sstDir(), "package.json"), "utf8"),
  ).version;
  const config = await readFile(path.join(root, "sst.config.ts"), "utf8");
  return createHash("sha256").update(`${sstVersion}\n${config}`).digest("hex");
}

async function main() {
  const args = process.argv.slice(2);
  const force = args.includes("--force");
  const stageAt = args.indexOf("--stage");
  const stage = stageAt >= 0 ? args[stageAt + 1] : "dev";
  if (!stage) throw new Error("--stage needs a value");

  const stampFile = path.join(root, ".sst", "fred-install.json");
  const platformTypes = path.join(root, ".sst", "platform", "config.d.ts");
  const wanted = await fingerprint();
  const stamp = await readFile(stampFile, "utf8")
    .then((s) => JSON.parse(s) as { fingerprint?: string })
    .catch(() => undefined);
  if (!force && stamp?.fingerprint === wanted && existsSync(platformTypes)) {
    log(".sst/platform is up to date");
    return;
  }

  await provideBun();
  const started = Date.now();
  execFileSync(sstBinary(), ["install", "--stage", stage], {
    cwd: root,
    stdio: ["ignore", "inherit", "inherit"],
    env: {
      ...process.env,
      SST_SKIP_DEPENDENCY_CHECK: "1",
      SST_TELEMETRY_DISABLED: "1",
      DO_NOT_TRACK: "1",
    },
  });
  if (!existsSync(platformTypes)) throw new Error(`sst install did not write ${platformTypes}`);
  await writeFile(stampFile, `${JSON.stringify({ fingerprint: wanted }, null, 2)}\n`);
  log(`.sst/platform written in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

await main();
