/**
 * Faults, injected into the real local server over real HTTP:
 * - the database stops while requests are in flight, then comes back on the same port;
 * - the S3 endpoint goes away, then comes back;
 * - clients hang up mid-request (aborted fetches, half-sent bodies).
 *
 * This file runs its OWN Postgres (so stopping it does not disturb the other test files)
 * and its own S3 server. The app's database client is created lazily on first use, so
 * pointing DATABASE_URL at our server before any request is enough.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { closeDb, sql } from "@fred/core/drizzle";
import { User } from "@fred/core/user";
import type { ServerType } from "@hono/node-server";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resetS3 } from "../../../core/src/upload/s3";
import { applyMigrations } from "../../../scripts/src/local/migrate";
import { freePort, type LocalPostgres, startPostgres } from "../../../scripts/src/local/postgres";
import { type LocalS3, startS3 } from "../../../scripts/src/local/s3";
import { listen } from "../../src/local";
import { runRequest } from "../helpers";
import { recordSection } from "./report";

const BATCH = 10;
const FAST_MS = 2000; // "fails fast": an answer within this long while the database is down

let dir: string;
let pg: LocalPostgres;
let s3: LocalS3;
let server: ServerType;
let base: string;
let token: string;
let jobId: number;

const figures = {
  requests: 0,
  faults: 0,
  rowsChecked: 0,
  outageRequests: 0,
  outage503: 0,
  outageMaxMs: 0,
  inFlightAtStop: 0,
  healthDownMs: 0,
  recoveryMs: 0,
  batchesAcked: 0,
  batchesRetried: 0,
  s3UrlsDuringOutage: 0,
  aborted: 0,
  halfBodies: 0,
  poolAfter: "",
};

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "fred-faults-"));
  pg = await startPostgres({ dir: path.join(dir, "pg"), persistent: true, fast: true });
  await applyMigrations(pg.url);
  await closeDb(); // nothing should have connected yet, but be sure
  process.env.DATABASE_URL = pg.url;
  s3 = await startS3({ dir: path.join(dir, "s3"), bucket: "fred-faults" });
  process.env.S3_ENDPOINT = s3.endpoint;
  process.env.S3_BUCKET = s3.bucket;
  resetS3();

  const port = await freePort();
  server = await listen(port);
  base = `http://127.0.0.1:${port}`;
  ({
    token: { token },
  } = await User.provision({ name: "Faulty", email: "faulty@example.org" }));
  jobId = (await send("POST", "/api/v1/jobs", { name: "faults" })).body.id;
}, 120_000);

afterAll(async () => {
  await new Promise((r) => server?.close(r));
  await closeDb().catch(() => {});
  await s3?.stop().catch(() => {});
  await pg?.stop().catch(() => {});
  await rm(dir, { recursive: true, force: true }).catch(() => {});
  await recordSection("faults", {
    title: "Faults",
    totals: {
      requests: figures.requests,
      users: 1,
      faultsInjected: figures.faults + figures.aborted + figures.halfBodies,
      rowsChecked: figures.rowsChecked,
      lost: 0,
    },
    figures: {
      "outages injected (database, S3)": figures.faults - 1,
      "requests made": figures.requests,
      "requests in flight when the database stopped": figures.inFlightAtStop,
      "requests sent while the database was down": figures.outageRequests,
      "… answered 503 (`unavailable` + Retry-After; `/health`: unhealthy)": figures.outage503,
      "slowest answer while down (ms)": figures.outageMaxMs,
      "`/health` answer while down (ms)": figures.healthDownMs,
      "recovery after restart, same process (ms)": figures.recoveryMs,
      "batches acknowledged (2xx) first time": figures.batchesAcked,
      "batches retried with their Idempotency-Key": figures.batchesRetried,
      "upload URLs issued while S3 was down": figures.s3UrlsDuringOutage,
      "requests aborted by the client mid-flight": figures.aborted,
      "connections dropped mid-body": figures.halfBodies,
      "database connections after the disconnects": figures.poolAfter,
      "rows checked": figures.rowsChecked,
    },
    checks: [
      `database stopped (fast shutdown) under load: every request sent while it was down answered 503 JSON \`unavailable\` with \`Retry-After\` in under ${FAST_MS} ms, none hung, no other 5xx`,
      "`/health` said 503 `unhealthy` while it was down, and 200 again after it restarted on the same port — the same server process, no restart",
      `every batch of ${BATCH} runs was in the database whole or not at all; retried with the same Idempotency-Key, every batch and job is there exactly once (lost: 0, doubled: 0)`,
      "S3 down: upload and result URLs still issued (presigning is local); the PUT fails to connect; the API's other routes unaffected; after S3 returns, the URLs issued during the outage work",
      "clients aborting mid-request and connections dropped mid-body: the server keeps serving; every database connection drains back to idle (pg_stat_activity), none left idle in transaction, never more than the pool's 10",
      "a keyed job creation aborted mid-flight and retried with its key is stored exactly once",
    ],
  });
}, 60_000);

interface Answer {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: a parsed JSON body of any shape
  body: any;
  ms: number;
  retryAfter: string | null;
  started: number;
}

async function send(
  method: string,
  route: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const started = performance.now();
  figures.requests++;
  const res = await fetch(base + route, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(15_000), // a hang fails the test rather than the run
  });
  const text = await res.text();
  let json: Answer["body"];
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return {
    status: res.status,
    body: json,
    ms: performance.now() - started,
    retryAfter: res.headers.get("retry-after"),
    started,
  };
}

const until = async (what: () => Promise<boolean>, ms: number, step = 100) => {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await what().catch(() => false)) return true;
    await new Promise((r) => setTimeout(r, step));
  }
  return false;
};

describe("database down while requests are in flight", () => {
  it("fails fast with 503, loses nothing, and recovers in the same process", async () => {
    type Kind = "batch" | "job" | "read" | "health";
    interface Sent {
      kind: Kind;
      key: string;
      answer: Answer;
    }
    const sent: Sent[] = [];
    const keys = { batch: new Set<string>(), job: new Set<string>() };
    const body = (kind: Kind, key: string) =>
      kind === "batch"
        ? {
            runs: Array.from({ length: BATCH }, (_, i) =>
              runRequest(jobId, { workingDir: `/fault/${key}/${i}` }),
            ),
          }
        : { name: key };
    const request = (kind: Kind, key: string) =>
      kind === "batch"
        ? send("POST", "/api/v1/runs", body(kind, key), { "idempotency-key": key })
        : kind === "job"
          ? send("POST", "/api/v1/jobs", body(kind, key), { "idempotency-key": key })
          : kind === "read"
            ? send("GET", `/api/v1/jobs/${jobId}`)
            : send("GET", "/health");

    let phase: "before" | "stopping" | "down" | "after" | "done" = "before";
    let seq = 0;
    const worker = async (w: number) => {
      while (phase !== "done") {
        const kinds: Kind[] = ["batch", "batch", "job", "read", "health"];
        const kind = kinds[seq++ % kinds.length]!;
        const key = `${kind}-${w}-${seq}`;
        if (kind === "batch" || kind === "job") keys[kind].add(key);
        const inFlightAtStop = phase === "before";
        const answer = await request(kind, key);
        if (inFlightAtStop && phase !== "before") figures.inFlightAtStop++;
        sent.push({ kind, key, answer });
      }
    };
    const workers = Array.from({ length: 8 }, (_, w) => worker(w));

    await new Promise((r) => setTimeout(r, 600));
    phase = "stopping";
    figures.faults++;
    await pg.stop();
    const down = performance.now();
    phase = "down";

    const health = await send("GET", "/health");
    figures.healthDownMs = Math.round(health.ms);
    expect(health.status).toBe(503);
    expect(health.body).toMatchObject({ status: "unhealthy" });
    expect(health.retryAfter).toBe("5");
    expect(health.ms).toBeLessThan(FAST_MS);

    await new Promise((r) => setTimeout(r, 2500));
    // Back on the same port, same data directory; the server process is untouched.
    pg = await startPostgres({
      dir: path.join(dir, "pg"),
      port: pg.port,
      persistent: true,
      fast: true,
    });
    const restarted = performance.now();
    const healthy = await until(async () => (await send("GET", "/health")).status === 200, 20_000);
    expect(healthy).toBe(true);
    figures.recoveryMs = Math.round(performance.now() - restarted);
    phase = "after";
    await new Promise((r) => setTimeout(r, 500));
    phase = "done";
    await Promise.all(workers);

    // While down: every request answered fast, 503 JSON `unavailable` with Retry-After.
    const whileDown = sent.filter((s) => s.answer.started > down && s.answer.started < restarted);
    figures.outageRequests = whileDown.length;
    expect(whileDown.length).toBeGreaterThan(8);
    for (const { kind, answer } of whileDown) {
      const what = `${kind} → ${answer.status} ${JSON.stringify(answer.body)?.slice(0, 200)}`;
      // A request that started just before the restart may see the new server: 2xx is fine.
      if (answer.status < 300) continue;
      expect(answer.status, what).toBe(503);
      if (kind === "health") {
        expect(answer.body?.status, what).toBe("unhealthy");
      } else {
        expect(answer.retryAfter, what).toBe("5");
        expect(answer.body?.error?.code, what).toBe("unavailable");
      }
      expect(answer.ms, what).toBeLessThan(FAST_MS);
      figures.outage503++;
      figures.outageMaxMs = Math.max(figures.outageMaxMs, Math.round(answer.ms));
    }
    // Never any other 5xx; after the restart everything succeeds.
    for (const { kind, answer } of sent) {
      expect([200, 201, 503], `${kind} → ${answer.status}`).toContain(answer.status);
    }
    const after = sent.filter((s) => s.answer.started > restarted + figures.recoveryMs);
    expect(after.length).toBeGreaterThan(0);
    expect(after.every((s) => s.answer.status < 300)).toBe(true);

    // All or nothing: each batch is in the database whole or not at all.
    const counts = new Map<string, number>();
    const rows = await sql()`
      select split_part(request->>'workingDir', '/', 3) as key, count(*)::int as n
      from run where request->>'workingDir' like '/fault/%' group by 1`;
    for (const r of rows) counts.set(r.key, r.n);
    figures.rowsChecked += rows.reduce((n, r) => n + r.n, 0);
    for (const [key, n] of counts) {
      expect(keys.batch.has(key), `unknown batch ${key}`).toBe(true);
      expect(n, `batch ${key}`).toBe(BATCH);
    }
    const acked = sent.filter((s) => s.kind === "batch" && s.answer.status < 300);
    figures.batchesAcked = acked.length;
    for (const s of acked) expect(counts.get(s.key), `acknowledged ${s.key}`).toBe(BATCH);

    // The client's side of the bargain: retry what was not acknowledged, with its key.
    const unacked = sent.filter(
      (s) => (s.kind === "batch" || s.kind === "job") && s.answer.status >= 300,
    );
    figures.batchesRetried = unacked.filter((s) => s.kind === "batch").length;
    for (const s of unacked) {
      const again = await request(s.kind, s.key);
      expect(again.status, `retry ${s.key}`).toBeLessThan(300);
    }
    const [batches] = await sql()`
      select count(distinct split_part(request->>'workingDir', '/', 3))::int as keys,
             count(*)::int as rows
      from run where request->>'workingDir' like '/fault/%'`;
    expect(batches).toEqual({ keys: keys.batch.size, rows: keys.batch.size * BATCH });
    const jobs = await sql()`
      select name, count(*)::int as n from job where name like 'job-%' group by name`;
    expect(jobs.length).toBe(keys.job.size);
    expect(jobs.every((j) => j.n === 1)).toBe(true);
    figures.rowsChecked += batches!.rows + jobs.length;
  }, 90_000);
});

describe("S3 down", () => {
  it("still issues upload URLs; the upload fails cleanly; nothing else breaks", async () => {
    const run = (await send("POST", "/api/v1/runs", runRequest(jobId, { workingDir: "/s3" }))).body;
    const before = await send("GET", `/api/v1/runs/${run.id}/upload-url?type=results`);
    expect((await fetch(before.body.url, { method: "PUT", body: "ok" })).status).toBe(200);
    await send("PATCH", `/api/v1/runs/${run.id}`, { resultsUploaded: true });

    figures.faults++;
    await s3.stop();
    const urls: string[] = [];
    for (const type of ["config", "input", "logs"]) {
      const res = await send("GET", `/api/v1/runs/${run.id}/upload-url?type=${type}`);
      expect(res.status).toBe(200);
      expect(res.ms).toBeLessThan(FAST_MS);
      urls.push(res.body.url);
    }
    const epx = await send("POST", "/jobs", { jobId, context: "job", type: "config" });
    expect(epx.status).toBe(200);
    // Marking results uploaded checks that they are in S3: with S3 down, a retryable 503.
    const mark = await send("PATCH", `/api/v1/runs/${run.id}`, { resultsUploaded: true });
    expect(mark.status).toBe(503);
    expect(mark.body.error.code).toBe("unavailable");
    urls.push(epx.body.url);
    const results = await send("GET", `/jobs/results?job_id=${jobId}`);
    expect(results.status).toBe(200);
    expect(results.body.urls).toHaveLength(1);
    figures.s3UrlsDuringOutage = urls.length + 1;

    // The upload itself fails to connect: the client sees it, nothing hangs.
    const put = await fetch(urls[0]!, {
      method: "PUT",
      body: "x",
      signal: AbortSignal.timeout(5000),
    }).then(
      (r) => r.status,
      (e: Error) => (e.cause as { code?: string })?.code ?? e.name,
    );
    expect(put).toBe("ECONNREFUSED");
    // Everything else carries on.
    expect((await send("GET", "/health")).status).toBe(200);
    expect((await send("POST", "/api/v1/jobs", { name: "during s3 outage" })).status).toBe(201);
    expect((await send("GET", `/api/v1/jobs/${jobId}`)).status).toBe(200);

    // S3 back: the URLs issued while it was down are good (signatures are local maths).
    const port = Number(new URL(s3.endpoint).port);
    s3 = await startS3({ dir: path.join(dir, "s3"), bucket: s3.bucket, port });
    for (const url of urls) {
      expect((await fetch(url, { method: "PUT", body: "late" })).status).toBe(200);
    }
    const download = await fetch(results.body.urls[0].url);
    expect(await download.text()).toBe("ok");
  }, 60_000);
});

describe("clients that hang up", () => {
  const monitor = () => postgres(pg.url, { max: 1, onnotice: () => {} });

  async function ours(db: postgres.Sql) {
    return db<{ state: string | null; n: number }[]>`
      select state, count(*)::int as n from pg_stat_activity
      where application_name = 'fred-platform' and pid <> pg_backend_pid()
      group by state`;
  }

  it("leaks no connection: the pool drains back to idle", async () => {
    figures.faults++;
    // 1. Fetches aborted at random points, while writes and reads are under way.
    const aborted = Array.from({ length: 120 }, async (_, i) => {
      const controller = new AbortController();
      setTimeout(() => controller.abort(), Math.random() * 40);
      figures.requests++;
      figures.aborted++;
      const kind = i % 4;
      const init: RequestInit =
        kind === 0
          ? {
              method: "POST",
              body: JSON.stringify({
                runs: Array.from({ length: 200 }, () => runRequest(jobId, { workingDir: "/gone" })),
              }),
            }
          : kind === 1
            ? {
                method: "POST",
                body: JSON.stringify({ name: `gone-${i}` }),
                headers: { "idempotency-key": `gone-${i}` },
              }
            : { method: "GET" };
      const route =
        kind === 0 ? "/api/v1/runs" : kind === 1 ? "/api/v1/jobs" : `/runs?job_id=${jobId}`;
      await fetch(base + route, {
        ...init,
        headers: {
          authorization: `Bearer ${token}`,
          "content-type": "application/json",
          ...(init.headers as Record<string, string>),
        },
        signal: controller.signal,
      }).then(
        (r) => r.arrayBuffer(),
        () => undefined,
      );
    });
    // 2. Connections that promise a body and drop it half-way, or never send one.
    const { port } = new URL(base);
    const half = Array.from({ length: 40 }, (_, i) => {
      figures.halfBodies++;
      figures.requests++;
      return new Promise<void>((resolve) => {
        const socket = connect(Number(port), "127.0.0.1", () => {
          const body = JSON.stringify({ name: "half", idempotency: i }).repeat(20);
          socket.write(
            `POST /api/v1/${i % 2 ? "jobs" : "runs"} HTTP/1.1\r\nHost: x\r\n` +
              `Authorization: Bearer ${token}\r\nContent-Type: application/json\r\n` +
              `${i % 3 ? `Idempotency-Key: half-${i}\r\n` : ""}` +
              `Content-Length: ${body.length * 2}\r\n\r\n${i % 4 ? body : ""}`,
          );
          setTimeout(() => socket.destroy(), 20 + Math.random() * 50);
        });
        socket.on("close", () => resolve());
        socket.on("error", () => resolve());
      });
    });
    await Promise.all([...aborted, ...half]);

    const db = monitor();
    try {
      let states: { state: string | null; n: number }[] = [];
      const drained = await until(async () => {
        states = await ours(db);
        return states.every((s) => s.state === "idle");
      }, 10_000);
      figures.poolAfter = states.map((s) => `${s.n} ${s.state}`).join(", ") || "0";
      expect(drained, JSON.stringify(states)).toBe(true);
      const total = states.reduce((n, s) => n + s.n, 0);
      expect(total).toBeLessThanOrEqual(10);
      expect(states.some((s) => s.state === "idle in transaction")).toBe(false);
    } finally {
      await db.end();
    }

    // The server still serves, and a keyed write that was cut off is stored once on retry.
    expect((await send("GET", "/health")).status).toBe(200);
    for (let i = 1; i < 120; i += 4) {
      const again = await send(
        "POST",
        "/api/v1/jobs",
        { name: `gone-${i}` },
        {
          "idempotency-key": `gone-${i}`,
        },
      );
      expect(again.status).toBe(201);
    }
    const [dupes] = await sql()`
      select count(*)::int as n from (
        select name from job where name like 'gone-%' group by name having count(*) > 1) d`;
    expect(dupes!.n).toBe(0);
    const runs = await sql()`
      select count(*)::int as n from run where request->>'workingDir' = '/gone'`;
    expect(runs[0]!.n % 200).toBe(0); // aborted batches: whole or absent
    figures.rowsChecked += runs[0]!.n + 30;
  }, 60_000);
});
