/**
 * Load driver: drives a running API with autocannon from its own process and keeps the
 * books — which writes the server acknowledged (2xx), per user — so the caller can check
 * the database against them.
 *
 *   tsx packages/scripts/src/load-driver.ts <config.json> <result.json>
 *
 * config: { base, tokens: string[], connections, amount, timeoutSeconds, batch }
 * Each connection belongs to one user (round robin) and loops through a fixed mix:
 * job creation (with an Idempotency-Key, then its replay), a batch of runs, a job read, an
 * upload URL, an epx batch, the epx run list, a job page, a run read, a single run.
 * Loopback only: the base URL must be http://127.0.0.1 or http://localhost.
 */
import { randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";

export interface LoadConfig {
  base: string;
  tokens: string[];
  connections: number;
  amount: number;
  timeoutSeconds: number;
  batch: number;
}

export interface UserBooks {
  jobs: number[];
  runs: number[];
  uploads: string[];
  /** Replays of an Idempotency-Key that did not return the first response's job. */
  replayMismatches: number;
  replays: number;
}

export interface LoadResult {
  requests: number;
  durationMs: number;
  statuses: Record<string, number>;
  byKind: Record<string, Record<string, number>>;
  errors: number;
  timeouts: number;
  latency: { p50: number; p99: number; max: number };
  users: UserBooks[];
  /** The first few non-2xx answers, to explain a failure. */
  samples: string[];
}

interface Context {
  user?: number;
  nonce?: string;
  key?: string;
  jobId?: number;
  runId?: number;
}

interface Request {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
  setupRequest?: (req: Request, context: Context) => Request;
  onResponse?: (status: number, body: string, context: Context) => void;
}

type Autocannon = (opts: Record<string, unknown>) => Promise<{
  requests: { total: number };
  latency: { p50: number; p99: number; max: number };
  errors: number;
  timeouts: number;
  duration: number;
}>;

const [configPath, resultPath] = process.argv.slice(2);
if (!configPath || !resultPath) {
  console.error("usage: load-driver <config.json> <result.json>");
  process.exit(2);
}
const config = JSON.parse(await readFile(configPath, "utf8")) as LoadConfig;
const base = new URL(config.base);
if (!["127.0.0.1", "localhost", "[::1]"].includes(base.hostname)) {
  console.error("load-driver: loopback only");
  process.exit(2);
}

const books: UserBooks[] = config.tokens.map(() => ({
  jobs: [],
  runs: [],
  uploads: [],
  replayMismatches: 0,
  replays: 0,
}));
const statuses: Record<string, number> = {};
const byKind: Record<string, Record<string, number>> = {};
const samples: string[] = [];
let nextUser = 0;

const json = { "content-type": "application/json" };
const epx = { "fredcli-version": "11.0.1", "user-agent": "epx_client_1.2.2" };
const run = (jobId: number, dir: string) => ({
  jobId,
  workingDir: dir,
  size: "hot",
  fredVersion: "11.0.1",
  population: { version: "US_2010.v5", locations: ["Allegheny_County_PA"] },
  fredArgs: [{ flag: "-p", value: "main.fred" }],
  fredFiles: [`${dir}/main.fred`],
});

/** One step of the mix: `make` builds the request, `ack` books what a 2xx acknowledged. */
function step(
  kind: string,
  make: (c: Context, auth: Record<string, string>) => Partial<Request>,
  // biome-ignore lint/suspicious/noExplicitAny: a response body, parsed JSON of any shape
  ack?: (body: any, c: Context, user: UserBooks) => void,
): Request {
  return {
    method: "GET",
    path: "/",
    setupRequest: (req, c) => {
      if (c.user === undefined) c.user = nextUser++ % config.tokens.length;
      const auth = { authorization: `Bearer ${config.tokens[c.user]}` };
      return { ...req, headers: auth, ...make(c, auth) };
    },
    onResponse: (status, body, c) => {
      statuses[status] = (statuses[status] ?? 0) + 1;
      byKind[kind] ??= {};
      byKind[kind][status] = (byKind[kind][status] ?? 0) + 1;
      if (status >= 200 && status < 300) {
        ack?.(JSON.parse(body), c, books[c.user!]!);
      } else if (samples.length < 10) {
        samples.push(`${kind} → ${status} ${body.slice(0, 300)}`);
      }
    },
  };
}

const requests: Request[] = [
  step(
    "create job (keyed)",
    (c, auth) => {
      c.nonce = randomBytes(8).toString("hex");
      c.key = `load-${c.nonce}`;
      return {
        method: "POST",
        path: "/api/v1/jobs",
        headers: { ...auth, ...json, "idempotency-key": c.key },
        body: JSON.stringify({ name: c.nonce, tags: ["load"] }),
      };
    },
    (body, c, user) => {
      c.jobId = body.id;
      user.jobs.push(body.id);
    },
  ),
  step(
    "replay job",
    (c, auth) => ({
      method: "POST",
      path: "/api/v1/jobs",
      headers: { ...auth, ...json, "idempotency-key": c.key! },
      body: JSON.stringify({ tags: ["load"], name: c.nonce }),
    }),
    (body, c, user) => {
      user.replays++;
      if (body.id !== c.jobId) user.replayMismatches++;
    },
  ),
  step(
    "submit batch",
    (c, auth) => ({
      method: "POST",
      path: "/api/v1/runs",
      headers: { ...auth, ...json },
      body: JSON.stringify({
        runs: Array.from({ length: config.batch }, (_, i) =>
          run(c.jobId!, `/load/${c.nonce}/b${i}`),
        ),
      }),
    }),
    (body, c, user) => {
      for (const r of body.runs) user.runs.push(r.id);
      c.runId = body.runs[0].id;
    },
  ),
  step("read job", (c) => ({ path: `/api/v1/jobs/${c.jobId}` })),
  step(
    "upload URL",
    (c) => ({ path: `/api/v1/runs/${c.runId}/upload-url?type=config` }),
    (body, _c, user) => {
      user.uploads.push(body.key);
    },
  ),
  step(
    "epx submit",
    (c) => ({
      method: "POST",
      path: "/runs",
      headers: { ...json, ...epx, "offline-token": `Bearer ${config.tokens[c.user!]}` },
      body: JSON.stringify({
        runRequests: [run(c.jobId!, `/load/${c.nonce}/e0`), run(c.jobId!, `/load/${c.nonce}/e1`)],
      }),
    }),
    (body, _c, user) => {
      for (const r of body.runResponses) user.runs.push(r.runId);
    },
  ),
  step("epx list runs", (c) => ({
    path: `/runs?job_id=${c.jobId}`,
    headers: { ...json, ...epx, "offline-token": `Bearer ${config.tokens[c.user!]}` },
  })),
  step("list jobs", () => ({ path: "/api/v1/jobs?limit=10" })),
  step("read run", (c) => ({ path: `/api/v1/runs/${c.runId}` })),
  step(
    "submit one run",
    (c, auth) => ({
      method: "POST",
      path: "/api/v1/runs",
      headers: { ...auth, ...json },
      body: JSON.stringify(run(c.jobId!, `/load/${c.nonce}/s`)),
    }),
    (body, _c, user) => {
      user.runs.push(body.id);
    },
  ),
];

const autocannon = createRequire(import.meta.url)("autocannon") as Autocannon;
const started = performance.now();
const result = await autocannon({
  url: config.base,
  connections: config.connections,
  amount: config.amount,
  timeout: config.timeoutSeconds,
  requests,
});
const out: LoadResult = {
  requests: Object.values(statuses).reduce((a, b) => a + b, 0),
  durationMs: Math.round(performance.now() - started),
  statuses,
  byKind,
  errors: result.errors,
  timeouts: result.timeouts,
  latency: { p50: result.latency.p50, p99: result.latency.p99, max: result.latency.max },
  users: books,
  samples,
};
await writeFile(resultPath, JSON.stringify(out));
