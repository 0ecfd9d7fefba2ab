/**
 * Load with accounting. The real local server (the Node listener `pnpm start` uses) runs
 * in this process on loopback, against this file's own Postgres database and the local
 * S3 server; a second process (packages/scripts/src/load-driver.ts, autocannon) drives it
 * with a mix of reads and writes over 50 connections for 5 users and books every write the
 * server acknowledged. Then the database must hold exactly the acknowledged writes: none
 * missing, none twice, none that was not acknowledged.
 */
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { sql } from "@fred/core/drizzle";
import type { ServerType } from "@hono/node-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LoadConfig, LoadResult } from "../../../scripts/src/load-driver";
import { freePort } from "../../../scripts/src/local/postgres";
import { listen } from "../../src/local";
import { makeUser } from "../helpers";
import { recordSection } from "./report";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../..");
const DRIVER = path.join(ROOT, "packages/scripts/src/load-driver.ts");
const USERS = 5;
const CONNECTIONS = 50;
const AMOUNT = Number(process.env.LOAD_REQUESTS ?? 20_000);
const BATCH = 5;
const DEADLINE_MS = 240_000; // the whole drive, hard bound

let server: ServerType;
let base: string;
let dir: string;
let users: Awaited<ReturnType<typeof makeUser>>[] = [];
let result: LoadResult | undefined;
let rowsChecked = 0;
let lost = 0;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "fred-load-"));
  const port = await freePort();
  server = await listen(port);
  base = `http://127.0.0.1:${port}`;
  users = [];
  for (let i = 0; i < USERS; i++) users.push(await makeUser(`Load${i}`));
});

afterAll(async () => {
  await new Promise((r) => server?.close(r));
  await rm(dir, { recursive: true, force: true });
  if (!result) return;
  const count = (lo: number) =>
    Object.entries(result!.statuses)
      .filter(([s]) => Number(s) >= lo && Number(s) < lo + 100)
      .reduce((n, [, c]) => n + c, 0);
  const books = result.users;
  await recordSection("load", {
    title: "Load with accounting",
    totals: { requests: result.requests, users: USERS, rowsChecked, lost },
    figures: {
      requests: result.requests,
      users: USERS,
      connections: CONNECTIONS,
      "wall time (s)": Math.round(result.durationMs / 100) / 10,
      "throughput (requests/s, 2 cores shared with Postgres and the driver)": Math.round(
        result.requests / (result.durationMs / 1000),
      ),
      "latency p50 / p99 / max (ms)": `${result.latency.p50} / ${result.latency.p99} / ${result.latency.max}`,
      "answered 2xx": count(200),
      "answered 4xx": count(400),
      "answered 5xx": count(500),
      "answered 429 (rate limited)": result.statuses["429"] ?? 0,
      "errors / timeouts": `${result.errors} / ${result.timeouts}`,
      "jobs acknowledged": books.reduce((n, b) => n + b.jobs.length, 0),
      "Idempotency-Key replays (all returned the first job)": books.reduce(
        (n, b) => n + b.replays,
        0,
      ),
      "runs acknowledged": books.reduce((n, b) => n + b.runs.length, 0),
      "upload URLs acknowledged": books.reduce((n, b) => n + b.uploads.length, 0),
      "rows checked against the books": rowsChecked,
      "acknowledged writes lost": lost,
      "rows written but not acknowledged": 0,
    },
    checks: [
      "the driver is a separate process (autocannon) on loopback; the server is the same Node listener `pnpm start` runs",
      "mix per connection, in a loop: create a job with an Idempotency-Key, replay it, submit a batch of 5 runs, read the job, get an upload URL, submit 2 runs the epx way, list the job's runs the epx way, page jobs, read a run, submit 1 run",
      "zero 5xx, zero 4xx, zero connection errors or timeouts; no 429 (locally nothing rate-limits)",
      "per user, the job ids, run ids and upload keys in the database are exactly the ones acknowledged: none missing, none extra",
      "no job name and no run working directory appears twice (each write exactly once); each replay returned the first job",
    ],
  });
});

function drive(config: LoadConfig): Promise<LoadResult> {
  return (async () => {
    const configPath = path.join(dir, "config.json");
    const resultPath = path.join(dir, "result.json");
    await writeFile(configPath, JSON.stringify(config));
    const child = spawn(process.execPath, ["--import", "tsx", DRIVER, configPath, resultPath], {
      cwd: ROOT,
      stdio: ["ignore", "inherit", "inherit"],
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), DEADLINE_MS);
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    clearTimeout(timer);
    if (code !== 0) throw new Error(`load driver exited with ${code}`);
    return JSON.parse(await readFile(resultPath, "utf8")) as LoadResult;
  })();
}

describe("the real server", () => {
  it("names no framework, and marks authenticated answers no-store", async () => {
    for (const [route, auth] of [
      ["/health", false],
      ["/api/v1/jobs", true],
      ["/nowhere", false],
      ["/api/v1/jobs", false],
    ] as const) {
      const res = await fetch(base + route, {
        headers: auth ? { authorization: `Bearer ${users[0]!.token}` } : {},
      });
      await res.arrayBuffer();
      expect(res.headers.get("server"), route).toBeNull();
      expect(res.headers.get("x-powered-by"), route).toBeNull();
      if (auth) expect(res.headers.get("cache-control")).toBe("no-store");
    }
  });
});

describe("load", () => {
  it(
    `${AMOUNT} mixed requests over ${CONNECTIONS} connections from ${USERS} users: no 5xx, nothing lost`,
    async () => {
      result = await drive({
        base,
        tokens: users.map((u) => u.token),
        connections: CONNECTIONS,
        amount: AMOUNT,
        timeoutSeconds: 30,
        batch: BATCH,
      });
      const r = result;
      expect(r.requests).toBe(AMOUNT);
      expect(r.errors, r.samples.join("\n")).toBe(0);
      expect(r.timeouts).toBe(0);
      const bad = Object.entries(r.statuses).filter(([s]) => Number(s) >= 300);
      expect(bad, r.samples.join("\n")).toEqual([]);
      expect(r.statuses["429"]).toBeUndefined();

      // The books against the database, user by user.
      for (const [i, u] of users.entries()) {
        const books = r.users[i]!;
        expect(books.replayMismatches).toBe(0);
        const jobs = await sql()<
          { id: string }[]
        >`select id from job where user_id = ${u.user.id} order by id`;
        const runs = await sql()<
          { id: string }[]
        >`select id from run where user_id = ${u.user.id} order by id`;
        const uploads = await sql()<{ key: string }[]>`
          select x.key from upload x join job j on j.id = x.job_id
          where j.user_id = ${u.user.id} order by x.key`;
        rowsChecked += jobs.length + runs.length + uploads.length;
        const ids = (rows: readonly { id: string }[]) => rows.map((row) => Number(row.id));
        const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
        lost +=
          books.jobs.filter((id) => !ids(jobs).includes(id)).length +
          books.runs.filter((id) => !ids(runs).includes(id)).length;
        expect(ids(jobs)).toEqual(sorted(books.jobs));
        expect(ids(runs)).toEqual(sorted(books.runs));
        expect(uploads.map((x) => x.key)).toEqual([...books.uploads].sort());
      }
      expect(lost).toBe(0);

      // Exactly once: no job name, no run working directory, twice.
      const [dupes] = await sql()`
        select
          (select count(*)::int from (select name from job where name is not null
             group by user_id, name having count(*) > 1) j) as jobs,
          (select count(*)::int from (select request->>'workingDir' from run
             group by user_id, request->>'workingDir' having count(*) > 1) r) as runs`;
      expect(dupes).toEqual({ jobs: 0, runs: 0 });
      const [cycle] = await sql()`
        select count(*)::int as n from run where request->>'workingDir' like '/load/%'`;
      const perCycle = BATCH + 2 + 1;
      expect(cycle!.n % perCycle).toBe(0);
    },
    DEADLINE_MS + 30_000,
  );
});
