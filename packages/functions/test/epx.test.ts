/** The epx client's whole flow, as the client sends it, with real uploads to S3. */

import { sql } from "@fred/core/drizzle";
import { describe, expect, it } from "vitest";
import { objectExists } from "../../core/src/upload/s3";
import { call, epxHeaders, makeUser, runRequest } from "./helpers";

/** A new user, its epx request options, and a job registered with `n` runs, as the client does. */
async function epxJobWithRuns(n = 1) {
  const { token } = await makeUser();
  const opts = { token, offline: true, headers: epxHeaders() };
  const jobId = (await call("POST", "/jobs/register", { ...opts, body: { tags: [] } })).json
    .id as number;
  const runRequests = Array.from({ length: n }, () => runRequest(jobId));
  const runIds = (
    await call("POST", "/runs", { ...opts, body: { runRequests } })
  ).json.runResponses.map((r: { runId: number }) => r.runId) as number[];
  return { token, opts, jobId, runIds, runId: runIds[0]! };
}

describe("the epx client flow", () => {
  it("register → upload URLs → PUT the bytes → submit runs → list runs → results URLs", async () => {
    const { user, token } = await makeUser();
    const opts = { token, offline: true, headers: epxHeaders() };

    const reg = await call("POST", "/jobs/register", { ...opts, body: { tags: ["info_job"] } });
    expect(reg.status).toBe(200);
    expect(reg.json).toEqual({ id: expect.any(Number), userId: user.id, tags: ["info_job"] });
    const jobId = reg.json.id as number;

    const config = await call("POST", "/jobs", {
      ...opts,
      body: { jobId, context: "job", type: "config" },
    });
    expect(config.status).toBe(200);
    expect(Object.keys(config.json)).toEqual(["url"]);
    expect(new URL(config.json.url).pathname).toMatch(
      new RegExp(`/jobs/${jobId}/\\d{4}/\\d{2}/\\d{2}/\\d{6}/job_config\\.json$`),
    );
    const put = await fetch(config.json.url, { method: "PUT", body: '{"a":1}' });
    expect(put.status).toBe(200);

    const input = await call("POST", "/jobs", {
      ...opts,
      body: { jobId, context: "job", type: "input" },
    });
    const bytes = new Uint8Array([80, 75, 3, 4, 0, 1, 2, 3]);
    expect((await fetch(input.json.url, { method: "PUT", body: bytes })).status).toBe(200);
    // Both artifacts share the job's prefix.
    const prefix = (u: string) => new URL(u).pathname.replace(/[^/]+$/, "");
    expect(prefix(input.json.url)).toBe(prefix(config.json.url));

    // Requesting the job input's URL moved the job to submitted.
    const job = await call("GET", `/api/v1/jobs/${jobId}`, { token });
    expect(job.json.status).toBe("submitted");
    expect(job.json.uploads.map((u: { type: string }) => u.type)).toEqual(["config", "input"]);

    const requests = [runRequest(jobId), runRequest(jobId, { size: "cold" })];
    const runs = await call("POST", "/runs", { ...opts, body: { runRequests: requests } });
    expect(runs.status).toBe(200);
    expect(runs.json.runResponses).toEqual(
      requests.map((r) => ({
        runId: expect.any(Number),
        jobId,
        status: "Submitted",
        errors: null,
        runRequest: r,
      })),
    );
    const [runA, runB] = runs.json.runResponses.map((r: { runId: number }) => r.runId);

    const runConfig = await call("POST", "/jobs", {
      ...opts,
      body: { jobId, context: "run", type: "config", runId: runA },
    });
    expect(new URL(runConfig.json.url).pathname).toMatch(new RegExp(`/run_${runA}_config\\.json$`));

    // The client sends Content-Type: application/json on this GET, with no body.
    const listed = await call("GET", `/runs?job_id=${jobId}`, opts);
    expect(listed.status).toBe(200);
    expect(listed.json.runs).toHaveLength(2);
    expect(listed.json.runs[0]).toEqual({
      id: runA,
      jobId,
      userId: user.id,
      createdTs: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
      request: requests[0],
      podPhase: null,
      containerStatus: null,
      // Not yet reported on by the runner. The client's run model (RunInfo) has no
      // "Submitted": it refused the whole list for one such run.
      status: "QUEUED",
      userDeleted: false,
      epxClientVersion: "1.2.2",
    });
    // The keys in the order the client has always had them (a DataFrame's columns).
    expect(Object.keys(listed.json.runs[0])).toEqual([
      "id",
      "jobId",
      "userId",
      "createdTs",
      "request",
      "podPhase",
      "containerStatus",
      "status",
      "userDeleted",
      "epxClientVersion",
    ]);

    // No results yet.
    expect((await call("GET", `/jobs/results?job_id=${jobId}`, opts)).json).toEqual({ urls: [] });

    // The runner uploads run B's results and reports them; reported before the PUT, they
    // are refused, as /jobs/results would hand out a URL to nothing.
    const upload = await call("GET", `/api/v1/runs/${runB}/upload-url?type=results`, { token });
    expect(upload.status).toBe(200);
    const early = await call("PATCH", `/api/v1/runs/${runB}`, {
      token,
      body: { status: "DONE", resultsUploaded: true },
    });
    expect(early.status).toBe(409);
    expect(early.json.error.message).toContain("not in storage yet");
    expect((await call("GET", `/api/v1/runs/${runB}`, { token })).json.status).toBe("Submitted");
    expect((await fetch(upload.json.url, { method: "PUT", body: "results!" })).status).toBe(200);
    const done = await call("PATCH", `/api/v1/runs/${runB}`, {
      token,
      body: { status: "DONE", resultsUploaded: true },
    });
    expect(done.json).toMatchObject({ status: "DONE", resultsUploadedAt: expect.any(String) });

    const results = await call("GET", `/jobs/results?job_id=${jobId}`, opts);
    expect(results.json.urls).toEqual([{ run_id: runB, url: expect.any(String) }]);
    const download = await fetch(results.json.urls[0].url);
    expect(download.status).toBe(200);
    expect(await download.text()).toBe("results!");
  });

  it("accepts the token in Offline-Token or Authorization, header names in any case", async () => {
    const { token } = await makeUser();
    for (const name of ["Offline-Token", "offline-token", "OFFLINE-TOKEN", "authorization"]) {
      const res = await call("POST", "/jobs/register", {
        headers: { [name]: `Bearer ${token}` },
        body: { tags: [] },
      });
      expect(res.status, name).toBe(200);
    }
  });

  it("a registration retried with its Idempotency-Key is the same job, registered once", async () => {
    const { token } = await makeUser();
    const register = (key: string, tags: string[]) =>
      call("POST", "/jobs/register", {
        token,
        offline: true,
        headers: { ...epxHeaders(), "idempotency-key": key },
        body: { tags },
      });
    const first = await register("reg-1", ["info_job"]);
    const again = await register("reg-1", ["info_job"]);
    expect(first.status).toBe(200);
    expect(again.status).toBe(200);
    expect(again.json).toEqual(first.json);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect((await register("reg-1", ["other"])).status).toBe(422);
    const jobs = await call("GET", "/api/v1/jobs", { token });
    expect(jobs.json.jobs).toHaveLength(1);
  });

  it("a run upload for a run of another job is refused", async () => {
    const { token } = await makeUser();
    const opts = { token, offline: true };
    const a = (await call("POST", "/jobs/register", { ...opts, body: { tags: [] } })).json.id;
    const b = (await call("POST", "/jobs/register", { ...opts, body: { tags: [] } })).json.id;
    const run = (await call("POST", "/runs", { ...opts, body: { runRequests: [runRequest(a)] } }))
      .json.runResponses[0].runId;
    const res = await call("POST", "/jobs", {
      ...opts,
      body: { jobId: b, context: "run", type: "config", runId: run },
    });
    expect(res.status).toBe(400);
    const missing = await call("POST", "/jobs", {
      ...opts,
      body: { jobId: a, context: "run", type: "config" },
    });
    expect(missing.status).toBe(400);
    expect(missing.json.error.message).toMatch(/runId/);
  });
  it("a run without a synthetic population: the client sends `population: null`", async () => {
    const { token } = await makeUser();
    const opts = { token, offline: true, headers: epxHeaders() };
    const jobId = (await call("POST", "/jobs/register", { ...opts, body: { tags: [] } })).json.id;
    const request = runRequest(jobId, { population: null });
    const res = await call("POST", "/runs", { ...opts, body: { runRequests: [request] } });
    expect(res.status, res.text).toBe(200);
    expect(res.json.runResponses[0].runRequest).toEqual(request);
    const listed = await call("GET", `/runs?job_id=${jobId}`, opts);
    expect(listed.json.runs[0].request.population).toBeNull();
    // Left out (our own /api/v1 callers may): stored as null all the same.
    const { population: _, ...without } = runRequest(jobId);
    const v1 = await call("POST", "/api/v1/runs", { token, body: without });
    expect(v1.status, v1.text).toBe(201);
    expect(v1.json.request.population).toBeNull();
  });

  it("lists only the statuses and pod phases the client's run model accepts", async () => {
    // epx.core.types.common.RunInfo: a pydantic Literal each; one other value anywhere in the
    // list fails the client's whole list_runs().
    const STATUSES = ["QUEUED", "NOT_STARTED", "RUNNING", "ERROR", "DONE"];
    const PHASES = ["Pending", "Running", "Succeeded", "Failed", "Unknown", null];
    const { token, opts, jobId, runIds } = await epxJobWithRuns(3);
    const [a, b] = runIds as [number, number];
    const report = (runId: number, body: unknown) =>
      call("PATCH", `/api/v1/runs/${runId}`, { token, body });
    expect((await report(a, { status: "RUNNING", podPhase: "Running" })).status).toBe(200);
    expect((await report(b, { status: "QUEUED", podPhase: "Pending" })).status).toBe(200);
    // A phase Kubernetes does not have is the runner's mistake: refused, not stored.
    const bogus = await report(b, { podPhase: "CrashLoopBackOff" });
    expect(bogus.status).toBe(400);
    const listed = await call("GET", `/runs?job_id=${jobId}`, opts);
    const runs = listed.json.runs as { status: string; podPhase: string | null }[];
    expect(runs.map((r) => [r.status, r.podPhase])).toEqual([
      ["RUNNING", "Running"],
      ["QUEUED", "Pending"],
      ["QUEUED", null],
    ]);
    for (const run of runs) {
      expect(STATUSES).toContain(run.status);
      expect(PHASES).toContain(run.podPhase);
    }
    // Our own API keeps telling a run never reported on from one the runner queued.
    const fresh = runIds[2];
    expect((await call("GET", `/api/v1/runs/${fresh}`, { token })).json.status).toBe("Submitted");
  });

  it("errors as the client reads them: a 403 for a refused token, `description` on each", async () => {
    // The client reads `description` from its 400, 403 and 404 models, and raises its
    // UnauthorizedUserError for a 403 only.
    const { token } = await makeUser();
    const opts = { token, offline: true, headers: epxHeaders() };
    const refused = await call("POST", "/jobs/register", {
      token: "epx_not-a-token",
      offline: true,
      headers: epxHeaders(),
      body: { tags: [] },
    });
    expect(refused.status).toBe(403);
    expect(refused.headers.get("www-authenticate")).toBeNull();
    expect(refused.json.description).toBe("A valid bearer token is required.");
    const missing = await call("GET", "/runs?job_id=999999999", opts);
    expect(missing.status).toBe(404);
    expect(missing.json.description).toBe(missing.json.error.message);
    expect(missing.json.description).toMatch(/999999999/);
    const invalid = await call("POST", "/runs", { ...opts, body: { runRequests: [{}] } });
    expect(invalid.status).toBe(400);
    expect(invalid.json.description).toBe(invalid.json.error.message);
    // /api/v1 keeps HTTP's 401, with the same body shape.
    const v1 = await call("GET", "/api/v1/jobs", { token: "epx_not-a-token" });
    expect(v1.status).toBe(401);
    expect(v1.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect(v1.json.description).toBe(v1.json.error.message);
  });
  it("finds jobs the client's ways: its latest (by tags), and its list by tags and days", async () => {
    const { user, token } = await makeUser();
    const opts = { token, offline: true, headers: epxHeaders() };
    const register = async (tags: string[]) =>
      (await call("POST", "/jobs/register", { ...opts, body: { tags } })).json.id as number;
    const a = await register(["sweep"]);
    const ab = await register(["sweep", "r0=2"]);
    const c = await register(["other"]);
    const stranger = await makeUser("Stranger");
    await call("POST", "/jobs/register", {
      token: stranger.token,
      offline: true,
      body: { tags: ["sweep"] },
    });

    const latest = await call("GET", "/jobs?latest=true", opts);
    expect(latest.status, latest.text).toBe(200);
    // The client's _JobDetails: id, userId, tags, created (a datetime).
    expect(latest.json).toEqual({
      id: c,
      userId: user.id,
      tags: ["other"],
      created: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T[\d:.]+Z$/),
    });
    expect((await call("GET", "/jobs?latest=true&tags=sweep", opts)).json.id).toBe(ab);
    expect((await call("GET", "/jobs?latest=true&tags=sweep&tags=r0%3D2", opts)).json.id).toBe(ab);
    const none = await call("GET", "/jobs?latest=true&tags=nothing", opts);
    expect(none.status).toBe(404);
    expect(none.json.description).toBe("Job tagged nothing not found.");
    expect((await call("GET", "/jobs", opts)).status).toBe(400);

    const ids = async (query: string) => {
      const res = await call("GET", `/jobs/me${query}`, opts);
      expect(res.status, res.text).toBe(200);
      return res.json.jobs.map((j: { id: number }) => j.id);
    };
    expect(await ids("")).toEqual([c, ab, a]);
    expect(await ids("?tags=sweep")).toEqual([ab, a]);
    const day = (offset: number) =>
      new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
    expect(await ids(`?startDate=${day(0)}&endDate=${day(0)}`)).toEqual([c, ab, a]);
    expect(await ids(`?startDate=${day(1)}`)).toEqual([]);
    expect(await ids(`?endDate=${day(-1)}`)).toEqual([]);
    expect((await call("GET", "/jobs/me?startDate=2026-13-01", opts)).status).toBe(400);
    expect((await call("GET", "/jobs/me?startDate=yesterday", opts)).status).toBe(400);
  });
  it("job.delete(): DELETE /jobs/{job_id} removes the job, its runs and its files", async () => {
    const { token } = await makeUser();
    const opts = { token, offline: true, headers: epxHeaders() };
    const jobId = (await call("POST", "/jobs/register", { ...opts, body: { tags: ["gone"] } })).json
      .id as number;
    const input = await call("POST", "/jobs", {
      ...opts,
      body: { jobId, context: "job", type: "input" },
    });
    expect((await fetch(input.json.url, { method: "PUT", body: "zip" })).status).toBe(200);
    // The URL is path-style: /<bucket>/<key>.
    const key = decodeURIComponent(new URL(input.json.url).pathname).replace(/^\/[^/]+\//, "");
    expect(key).toMatch(new RegExp(`^jobs/${jobId}/.+/job_input\\.zip$`));
    expect(await objectExists(key)).toBe(true);
    await call("POST", "/runs", { ...opts, body: { runRequests: [runRequest(jobId)] } });

    // As the client sends it: DELETE with its headers (a JSON content type, no body).
    const deleted = await call("DELETE", `/jobs/${jobId}`, opts);
    expect(deleted.status, deleted.text).toBe(200);
    expect(deleted.json).toEqual({ id: jobId, deleted: true });
    expect(await objectExists(key)).toBe(false); // gone from the bucket
    const download = await call("GET", `/api/v1/jobs/${jobId}`, { token });
    expect(download.status).toBe(404);
    const again = await call("DELETE", `/jobs/${jobId}`, opts);
    expect(again.status).toBe(404);
    expect(again.json.description).toBe(`Job ${jobId} not found.`);
    expect((await call("GET", "/jobs/me?tags=gone", opts)).json.jobs).toEqual([]);
  });
  it("job.stop(): PATCH /runs?id= marks the caller's runs deleted, the others NotFound", async () => {
    const { token } = await makeUser();
    const opts = { token, offline: true, headers: epxHeaders() };
    const jobId = (await call("POST", "/jobs/register", { ...opts, body: { tags: [] } })).json.id;
    const submit = async (o: typeof opts, job: number) =>
      (await call("POST", "/runs", { ...o, body: { runRequests: [runRequest(job)] } })).json
        .runResponses[0].runId as number;
    const [a, b, kept] = [
      await submit(opts, jobId),
      await submit(opts, jobId),
      await submit(opts, jobId),
    ];
    const stranger = await makeUser("Stranger");
    const strangerOpts = { token: stranger.token, offline: true, headers: epxHeaders() };
    const theirJob = (await call("POST", "/jobs/register", { ...strangerOpts, body: { tags: [] } }))
      .json.id;
    const theirs = await submit(strangerOpts, theirJob);

    // As the client sends it: the ids in the query, no body, a JSON content type.
    const res = await call("PATCH", `/runs?id=${a}&id=${b}&id=${theirs}&id=999999999`, opts);
    expect(res.status, res.text).toBe(200);
    // The client's _StopResponse: description, deletedIds, failedIds of {runId, reason}.
    expect(res.json).toEqual({
      description: "Stopped 2 of 4 runs.",
      deletedIds: [
        { runId: a, reason: "Success" },
        { runId: b, reason: "Success" },
      ],
      failedIds: [
        { runId: theirs, reason: "NotFound" },
        { runId: 999999999, reason: "NotFound" },
      ],
    });
    const listed = await call("GET", `/runs?job_id=${jobId}`, opts);
    expect(
      listed.json.runs.map((r: { id: number; userDeleted: boolean }) => [r.id, r.userDeleted]),
    ).toEqual([
      [a, true],
      [b, true],
      [kept, false],
    ]);
    const other = await call("GET", `/runs?job_id=${theirJob}`, strangerOpts);
    expect(other.json.runs[0].userDeleted).toBe(false);
    expect((await call("PATCH", "/runs", opts)).status).toBe(400);
  });

  it("retries: POST /runs/retry queues the caller's ERROR runs again, form-encoded as the client sends", async () => {
    const { token, opts, jobId, runIds } = await epxJobWithRuns(3);
    const [failed, running, failedToo] = runIds as [number, number, number];
    const report = (runId: number, body: unknown) =>
      call("PATCH", `/api/v1/runs/${runId}`, { token, body });
    await report(failed, { status: "ERROR", podPhase: "Failed", containerStatus: "OOMKilled" });
    await report(running, { status: "RUNNING", podPhase: "Running" });
    await report(failedToo, { status: "ERROR" });

    // requests' `data={"runRequestIds": [...]}`: form-encoded, under the JSON content type.
    const res = await call("POST", "/runs/retry", {
      ...opts,
      raw: `runRequestIds=${failed}&runRequestIds=${running}`,
    });
    expect(res.status, res.text).toBe(200);
    expect(res.json).toEqual({ status: "Submitted", runRequestIds: [failed] });
    const after = await call("GET", `/api/v1/runs/${failed}`, { token });
    expect(after.json).toMatchObject({
      status: "Submitted",
      podPhase: null,
      containerStatus: null,
    });
    expect((await call("GET", `/api/v1/runs/${running}`, { token })).json.status).toBe("RUNNING");

    // As JSON too; and not for a job that no longer takes runs.
    await call("PATCH", `/api/v1/jobs/${jobId}`, { token, body: { status: "cancelled" } });
    const closed = await call("POST", "/runs/retry", {
      ...opts,
      body: { runRequestIds: [failedToo] },
    });
    expect(closed.json).toEqual({ status: "Submitted", runRequestIds: [] });
    const bad = await call("POST", "/runs/retry", { ...opts, raw: "runRequestIds=abc" });
    expect(bad.status).toBe(400);
    expect(bad.json.description).toBe(bad.json.error.message);
  });

  it("a run upload asked for while its job is deleted is a 404, not the database's refusal", async () => {
    const { token, jobId, runId } = await epxJobWithRuns();
    // Holding the job as Job.remove does while it deletes the files, then deleting it.
    let asked: ReturnType<typeof call> | undefined;
    await sql().begin(async (tx) => {
      await tx`select id from job where id = ${jobId} for update`;
      // A config upload: its insert waits on the job's lock (a results upload also locks
      // the run, which the cascade then waits for: Postgres breaks that deadlock with a
      // 503 to one side, see error.ts).
      asked = call("GET", `/api/v1/runs/${runId}/upload-url?type=config`, { token });
      await new Promise((done) => setTimeout(done, 200)); // the upload waits on the lock
      await tx`delete from job where id = ${jobId}`;
    });
    const res = await asked!;
    expect(res.status, res.text).toBe(404);
    expect(res.json.error.code).toBe("not_found");
  });

  it("a retry waits for a cancel in flight, and then queues nothing", async () => {
    const { token, opts, jobId, runId } = await epxJobWithRuns();
    await call("PATCH", `/api/v1/runs/${runId}`, { token, body: { status: "ERROR" } });
    let retried: Promise<Awaited<ReturnType<typeof call>>> | undefined;
    await sql().begin(async (tx) => {
      await tx`update job set status = 'cancelled' where id = ${jobId}`;
      retried = call("POST", "/runs/retry", { ...opts, body: { runRequestIds: [runId] } });
      await new Promise((done) => setTimeout(done, 200)); // the retry waits on the job's lock
    });
    expect((await retried!).json).toEqual({ status: "Submitted", runRequestIds: [] });
    expect((await call("GET", `/api/v1/runs/${runId}`, { token })).json.status).toBe("ERROR");
  });

  it("job lookups: dates outside 1900–9998 are a 400; /jobs/me's Allow names only its methods", async () => {
    const { token } = await makeUser();
    const opts = { token, offline: true, headers: epxHeaders() };
    for (const q of ["endDate=9999-12-31", "startDate=0000-01-01", "startDate=2025-02-29"]) {
      const res = await call("GET", `/jobs/me?${q}`, opts);
      expect(res.status, q).toBe(400);
      expect(res.json.description, q).toBe(res.json.error.message);
    }
    expect((await call("GET", "/jobs/me?endDate=9998-12-31", opts)).status).toBe(200);
    const wrong = await call("POST", "/jobs/me", opts);
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get("allow")).toBe("GET, HEAD, OPTIONS");
    // A long list goes compressed to a client that accepts it, as the run lists do.
    for (let i = 0; i < 40; i++) {
      const tags = ["a", "b", "c"].map((t) => `${t}${i}`.padEnd(100, "x"));
      await call("POST", "/jobs/register", { ...opts, body: { tags } });
    }
    const long = await call("GET", "/jobs/me", {
      ...opts,
      headers: { ...epxHeaders(), "accept-encoding": "gzip" },
    });
    expect(long.status).toBe(200);
    expect(long.headers.get("content-encoding")).toBe("gzip");
  });
});
