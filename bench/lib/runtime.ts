/**
 * The Node that Lambda runs the API on (infra/lambda.ts: `nodejs22.x`), for `pnpm bench`:
 * the machine's own Node when it is that major version, else the official build of
 * LAMBDA_NODE from the npm registry (the `node-<os>-<arch>` packages, which the `node`
 * package installs from), fetched once into ~/.cache/fred-platform. Node 20 and 22 differ
 * in what a cold start costs (on Node 22 merely reading the global `Headers` property
 * loads undici), so figures measured on another version would not be Lambda's.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

/** The newest Node 22 when this was written; Lambda's nodejs22.x follows 22's patches. */
export const LAMBDA_NODE = "22.23.3";

const major = (version: string) => version.replace(/^v/, "").split(".")[0];

/** Path of a Node binary of Lambda's major version, or undefined if none can be had. */
export async function lambdaNode(log: (line: string) => void): Promise<string | undefined> {
  if (major(process.version) === major(LAMBDA_NODE)) return process.execPath;
  const pkg = `node-${process.platform}-${process.arch}`;
  const dir = path.join(os.homedir(), ".cache", "fred-platform", `${pkg}-${LAMBDA_NODE}`);
  const bin = path.join(dir, "package", "bin", "node");
  if (!existsSync(bin)) {
    try {
      log(`fetching Node ${LAMBDA_NODE} (${pkg} from the npm registry) into ${dir}`);
      await mkdir(dir, { recursive: true });
      const pack = ["pack", `${pkg}@${LAMBDA_NODE}`, "--pack-destination", dir, "--silent"];
      const out = execFileSync("npm", pack, { cwd: dir, encoding: "utf8", stdio: "pipe" });
      const tarball = path.join(dir, out.trim().split("\n").at(-1)!);
      execFileSync("tar", ["xzf", tarball, "-C", dir], { stdio: "pipe" });
      await rm(tarball);
    } catch (error) {
      log(`could not fetch Node ${LAMBDA_NODE}: ${(error as Error).message.split("\n")[0]}`);
      await rm(dir, { recursive: true, force: true });
      return undefined;
    }
  }
  return bin;
}
