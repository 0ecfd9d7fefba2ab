/**
 * Idempotency-Key on the three POSTs that write: replay, mismatch, concurrency, scope,
 * expiry. Every claim is checked against the database, not just the responses.
 */
import { randomUUID } from "node:crypto";
import { sql } from "@fred/core/drizzle";
import { Idempotency } from "@fred/core/idempotency";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, epxHeaders, makeUser, runRequest } from "../helpers";
import { recordSection } from "./report";

let requests = 0;
let rowsChecked = 0;
let concurrentDuplicates = 0;
let replays = 0;

async function post(path: string, token: string, body: unknown, key?: string, epx = false) {
  requests++;
  const res = await call("POST", path, {
    token,
    offline: epx,
    body,
    headers: {
      ...(epx ? epxHeaders() : {}),
      ...(key === undefined ? {} : { "Idempotency-Key": key }),
    },
  });
  if (res.headers.get("idempotent-replayed") === "true") replays++;
  return res;
}

async function count(query: string, ...params: (string | number)[]): Promise<number> {
  const [row] = await sql().unsafe(`select count(*)::int as n from (${query}) q`, params);
  const n = (row as unknown as { n: number }).n;
  rowsChecked += n;
  return n;
}
const jobsOf = (userId: number) => count("select id from job where user_id = $1", userId);
const runsOf = (userId: number) => count("select id from run where user_id = $1", userId);

let ada: Awaited<ReturnType<typeof makeUser>>;
let bob: Awaited<ReturnType<typeof makeUser>>;

beforeAll(async () => {
  ada = await makeUser("Ada");
  bob = await makeUser("Bob");
});

afterAll(async () => {
  await recordSection("idempotency", {
    title: "Idempotency",
    totals: { requests, users: 2, rowsChecked, lost: 0 },
    figures: {
      requests: requests,
      "responses replayed": replays,
      "concurrent requests sharing a key": concurrentDuplicates,
      "rows checked": rowsChecked,
    },
    checks: [
      "same key + same body (on all three POSTs): status and body replayed, `Idempotent-Replayed: true`, no new row",
      "same JSON with its keys in another order counts as the same body",
      "same key + different body, or the same key on another route: 422 `idempotency_mismatch`, no new row",
      "20 concurrent job creations and 8 concurrent 50-run batches, each sharing one key: one write each, every response identical",
      "keys are per user: another user's identical key writes its own row",
      "a failed request (400, 404) stores nothing: the key can be used again",
      `an expired key (older than ${Idempotency.TTL_HOURS} h) is claimed afresh; \`Idempotency.purge()\` deletes expired keys`,
      "malformed keys (empty, too long, spaces, control characters) are 400",
    ],
  });
});

describe("Idempotency-Key", () => {
  it("replays the first response for a retry with the same key and body, and writes nothing", async () => {
    const key = randomUUID();
    const before = await jobsOf(ada.user.id);
    const first = await post("/api/v1/jobs", ada.token, { name: "measles", tags: ["a"] }, key);
    expect(first.status).toBe(201);
    expect(first.headers.get("idempotent-replayed")).toBeNull();
    const again = await post("/api/v1/jobs", ada.token, { tags: ["a"], name: "measles" }, key);
    expect(again.status).toBe(201);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(again.headers.get("content-type")).toMatch(/application\/json/);
    expect(again.json).toEqual(first.json);
    expect(await jobsOf(ada.user.id)).toBe(before + 1);
  });

  it("replays run submissions, single, batch and epx", async () => {
    const job = (await post("/api/v1/jobs", ada.token, {})).json.id as number;
    const before = await runsOf(ada.user.id);

    const single = randomUUID();
    const s1 = await post("/api/v1/runs", ada.token, runRequest(job), single);
    const s2 = await post("/api/v1/runs", ada.token, runRequest(job), single);
    expect(s1.status).toBe(201);
    expect(s2.json).toEqual(s1.json);

    const batch = randomUUID();
    const runs = Array.from({ length: 5 }, (_, i) => runRequest(job, { workingDir: `/w/${i}` }));
    const b1 = await post("/api/v1/runs", ada.token, { runs }, batch);
    const b2 = await post("/api/v1/runs", ada.token, { runs }, batch);
    expect(b1.status).toBe(201);
    expect(b2.status).toBe(201);
    expect(b2.json).toEqual(b1.json);

    const epx = randomUUID();
    const e1 = await post("/runs", ada.token, { runRequests: runs }, epx, true);
    const e2 = await post("/runs", ada.token, { runRequests: runs }, epx, true);
    expect(e1.status).toBe(200);
    expect(e2.status).toBe(200);
    expect(e2.headers.get("idempotent-replayed")).toBe("true");
    expect(e2.json).toEqual(e1.json);

    expect(await runsOf(ada.user.id)).toBe(before + 1 + 5 + 5);
  });

  it("refuses the same key with a different body, or on another route, with 422", async () => {
    const key = randomUUID();
    const job = await post("/api/v1/jobs", ada.token, { name: "one" }, key);
    expect(job.status).toBe(201);
    const before = await jobsOf(ada.user.id);
    const beforeRuns = await runsOf(ada.user.id);

    const other = await post("/api/v1/jobs", ada.token, { name: "two" }, key);
    expect(other.status).toBe(422);
    expect(other.json.error.code).toBe("idempotency_mismatch");

    const elsewhere = await post("/api/v1/runs", ada.token, runRequest(job.json.id), key);
    expect(elsewhere.status).toBe(422);
    const epx = await post(
      "/runs",
      ada.token,
      { runRequests: [runRequest(job.json.id)] },
      key,
      true,
    );
    expect(epx.status).toBe(422);

    expect(await jobsOf(ada.user.id)).toBe(before);
    expect(await runsOf(ada.user.id)).toBe(beforeRuns);
  });

  it("writes once when concurrent requests share a key", async () => {
    const key = randomUUID();
    const before = await jobsOf(ada.user.id);
    concurrentDuplicates += 20;
    const responses = await Promise.all(
      Array.from({ length: 20 }, () => post("/api/v1/jobs", ada.token, { name: "race" }, key)),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(20).fill(201));
    expect(new Set(responses.map((r) => r.json.id)).size).toBe(1);
    expect(responses.filter((r) => r.headers.get("idempotent-replayed")).length).toBe(19);
    expect(await jobsOf(ada.user.id)).toBe(before + 1);

    const job = responses[0]!.json.id as number;
    const runs = Array.from({ length: 50 }, (_, i) => runRequest(job, { workingDir: `/r/${i}` }));
    const batchKey = randomUUID();
    const beforeRuns = await runsOf(ada.user.id);
    concurrentDuplicates += 8;
    const batches = await Promise.all(
      Array.from({ length: 8 }, () => post("/api/v1/runs", ada.token, { runs }, batchKey)),
    );
    expect(batches.map((r) => r.status)).toEqual(Array(8).fill(201));
    expect(new Set(batches.map((r) => r.text)).size).toBe(1);
    expect(await runsOf(ada.user.id)).toBe(beforeRuns + 50);
  });

  it("scopes keys per user", async () => {
    const key = `shared-${randomUUID()}`;
    const a = await post("/api/v1/jobs", ada.token, { name: "same" }, key);
    const b = await post("/api/v1/jobs", bob.token, { name: "same" }, key);
    expect(a.status).toBe(201);
    expect(b.status).toBe(201);
    expect(b.headers.get("idempotent-replayed")).toBeNull();
    expect(b.json.userId).toBe(bob.user.id);
    expect(b.json.id).not.toBe(a.json.id);
    // Bob cannot learn or replay Ada's response with her key.
    const b2 = await post("/api/v1/jobs", bob.token, { name: "same" }, key);
    expect(b2.json.id).toBe(b.json.id);
    expect(
      await count("select id from job where name = 'same' and user_id = $1", bob.user.id),
    ).toBe(1);
  });

  it("does not remember a failed request: the key can be used again", async () => {
    const key = randomUUID();
    const bad = await post("/api/v1/jobs", ada.token, { name: 5 }, key);
    expect(bad.status).toBe(400);
    const notMine = await post("/api/v1/runs", ada.token, runRequest(999_999_999), key);
    expect(notMine.status).toBe(404);
    const good = await post("/api/v1/jobs", ada.token, { name: "fixed" }, key);
    expect(good.status).toBe(201);
    expect(good.headers.get("idempotent-replayed")).toBeNull();
    expect(await count("select 1 from idempotency_key where key = $1", key)).toBe(1);
  });

  it("expires keys after the TTL", async () => {
    const key = randomUUID();
    const first = await post("/api/v1/jobs", ada.token, { name: "old" }, key);
    const [row] = await sql()`
      select extract(epoch from time_expires - time_created)::int as ttl
      from idempotency_key where user_id = ${ada.user.id} and key = ${key}`;
    expect(row!.ttl).toBe(Idempotency.TTL_HOURS * 3600);

    await sql()`update idempotency_key set time_expires = now() - interval '1 second'
      where user_id = ${ada.user.id} and key = ${key}`;
    const before = await jobsOf(ada.user.id);
    // Past its TTL the key is free: even a different body is a new request now.
    const fresh = await post("/api/v1/jobs", ada.token, { name: "new" }, key);
    expect(fresh.status).toBe(201);
    expect(fresh.json.id).not.toBe(first.json.id);
    expect(await jobsOf(ada.user.id)).toBe(before + 1);
    const replay = await post("/api/v1/jobs", ada.token, { name: "new" }, key);
    expect(replay.json.id).toBe(fresh.json.id);

    const stale = randomUUID();
    await post("/api/v1/jobs", ada.token, {}, stale);
    await sql()`update idempotency_key set time_expires = now() - interval '1 second'
      where key = ${stale}`;
    expect(await Idempotency.purge()).toBeGreaterThanOrEqual(1);
    expect(await count("select 1 from idempotency_key where key = $1", stale)).toBe(0);
  });

  it("refuses malformed keys with 400 and writes nothing", async () => {
    const before = await jobsOf(ada.user.id);
    for (const key of ["", "x".repeat(256), "has space", "tab\tkey", "\u00e9t\u00e9"]) {
      const res = await post("/api/v1/jobs", ada.token, {}, key);
      expect(res.status, JSON.stringify(key)).toBe(400);
      expect(res.json.error.code).toBe("invalid");
    }
    const ok = await post("/api/v1/jobs", ada.token, {}, "x".repeat(255));
    expect(ok.status).toBe(201);
    expect(await jobsOf(ada.user.id)).toBe(before + 1);
  });
});

describe("OpenAPI", () => {
  it("documents the Idempotency-Key header on the three POSTs", async () => {
    const doc = await call("GET", "/openapi.json");
    expect(doc.status).toBe(200);
    for (const path of ["/api/v1/jobs", "/api/v1/runs", "/runs"]) {
      const names = (doc.json.paths[path].post.parameters ?? []).map(
        (p: { name: string; in: string }) => `${p.in}:${p.name}`,
      );
      expect(names, path).toContain("header:idempotency-key");
    }
  });
});
