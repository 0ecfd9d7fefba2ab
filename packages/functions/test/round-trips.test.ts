/**
 * Round trips to the database per request. Loopback hides them; behind RDS Proxy each one
 * is a network hop, so a request that needs more of them is slower for every user. The
 * app's client is pointed at a relay that counts them (and delays each way, so a flight of
 * statements sent together counts once).
 */
import { closeDb, sql } from "@fred/core/drizzle";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { delayedLink, type Link } from "../../scripts/src/test/link";
import { call, makeUser, runRequest } from "./helpers";

let link: Link;
const direct = process.env.DATABASE_URL!;

beforeAll(async () => {
  // 5 ms each way: statements a request sends together must leave within 10 ms of each
  // other to count as one flight, which a GC pause on a loaded machine cannot break.
  link = await delayedLink(direct, 5);
  await closeDb();
  process.env.DATABASE_URL = link.url;
  process.env.DB_POOL_MAX = "1"; // as in Lambda: one connection, statements pipelined on it
});

afterAll(async () => {
  await closeDb();
  process.env.DATABASE_URL = direct;
  delete process.env.DB_POOL_MAX;
  await link.close();
});

/** Round trips of one warm call (the connection is already open). */
async function tripsOf(request: () => Promise<{ status: number }>, status: number) {
  expect((await request()).status).toBe(status);
  return tripsOfOne(request, status);
}

/** Round trips of one call, counted from its start. */
async function tripsOfOne(request: () => Promise<{ status: number }>, status: number) {
  link.reset();
  expect((await request()).status).toBe(status);
  return link.roundTrips();
}

describe("database round trips per request", () => {
  it("one for a health check, a read and the epx list; two for a submission and an update; three for any upload URL", async () => {
    const { token } = await makeUser();
    const job = await call("POST", "/api/v1/jobs", { token, body: { name: "trips" } });
    const runs = await call("POST", "/api/v1/runs", { token, body: runRequest(job.json.id) });
    const jobId = job.json.id as number;
    const runId = runs.json.id as number;

    expect(await tripsOf(() => call("GET", "/health"), 200)).toBe(1);
    // The token's check, and with it the job, its uploads and run counts. Together they pass
    // 1 KiB, so postgres.js writes them in two pieces: one flight only because its socket
    // sets TCP_NODELAY (patches/postgres@3.4.9.patch); with Nagle on, this was two.
    expect(await tripsOf(() => call("GET", `/api/v1/jobs/${jobId}`, { token }), 200)).toBe(1);
    expect(await tripsOf(() => call("GET", `/api/v1/runs/${runId}`, { token }), 200)).toBe(1);
    const page = () => call("GET", `/api/v1/jobs/${jobId}/runs?limit=10`, { token });
    expect(await tripsOf(page, 200)).toBe(1);
    // Not read-only (it records the upload): the token first, then the run with its job
    // (one read), and the insert, which needs no transaction of its own.
    const upload = () => call("GET", `/api/v1/runs/${runId}/upload-url?type=config`, { token });
    expect(await tripsOf(upload, 200)).toBe(3);
    // The runner's results URL also records the run's results key, and the epx client's job
    // input URL moves the job to submitted: each in the insert's statement, no transaction.
    const results = () => call("GET", `/api/v1/runs/${runId}/upload-url?type=results`, { token });
    expect(await tripsOf(results, 200)).toBe(3);
    const input = () =>
      call("POST", "/jobs", {
        token,
        offline: true,
        body: { jobId, context: "job", type: "input" },
      });
    expect(await tripsOf(input, 200)).toBe(3);
    // A write waits for the token; then the job check and the insert, one statement.
    const submit = () => call("POST", "/api/v1/runs", { token, body: runRequest(jobId) });
    expect(await tripsOf(submit, 201)).toBe(2);
    // The token's check and a page of runs (with its own ownership check) together. An
    // empty list adds one to tell a job that is not theirs.
    const list = () => call("GET", `/runs?job_id=${jobId}`, { token, offline: true });
    expect(await tripsOf(list, 200)).toBe(1);
    // Longer than a page: then read again through a cursor, one round trip per page, and
    // one for the cursor's closing Sync, which postgres.js waits for.
    const big = (await call("POST", "/api/v1/jobs", { token, body: { name: "big" } })).json.id;
    for (let i = 0; i < 3; i++) {
      const body = { runs: Array.from({ length: 1000 }, () => runRequest(big)) };
      expect((await call("POST", "/api/v1/runs", { token, body })).status).toBe(201);
    }
    const bigList = () => call("GET", `/runs?job_id=${big}`, { token, offline: true });
    expect(await tripsOf(bigList, 200)).toBe(4);
    expect((await bigList()).json.runs).toHaveLength(3000);
    const patch = () =>
      call("PATCH", `/api/v1/runs/${runId}`, { token, body: { status: "RUNNING" } });
    expect(await tripsOf(patch, 200)).toBe(2);
  });

  it("two for a read with a token this process has not checked before", async () => {
    const { token } = await makeUser();
    const job = await call("POST", "/api/v1/jobs", { token, body: { name: "first" } });
    const { token: other, tokenId } = await makeUser();
    // Recorded as used just now: its check records no use, which would be a statement of
    // its own, so what is counted is the check and the read.
    await sql()`update api_token set time_last_used = now() where id = ${tokenId}`;
    // Its first read waits for the token (whose user to read for is not known yet) …
    const read = (t: string) => call("GET", "/api/v1/jobs", { token: t });
    expect(await tripsOfOne(() => read(other), 200)).toBe(2);
    // … and then reads with it; a token's first use is a write (POST above): it counts too.
    expect(await tripsOfOne(() => read(other), 200)).toBe(1);
    expect(await tripsOfOne(() => read(token), 200)).toBe(1);
    expect(job.status).toBe(201);
  });
});
