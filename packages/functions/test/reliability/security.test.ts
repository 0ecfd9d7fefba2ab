/**
 * Who may do what: every route × (no token, bad token, revoked, expired, a token revoked or
 * expired after this process last verified it, another user, the owner, the admin token)
 * with the status each must get; tokens (hashes only, prefixes
 * shown, admin and user tokens not interchangeable); response headers; and logs that never
 * carry a token or a URL signature.
 */
import { createHash, randomUUID } from "node:crypto";
import { sql } from "@fred/core/drizzle";
import { UnavailableError } from "@fred/core/error";
import { Job } from "@fred/core/job";
import { Token } from "@fred/core/user";
import type { MiddlewareHandler } from "hono";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { router } from "../../src/api/router";
import { ADMIN, call, epxHeaders, makeUser, runRequest } from "../helpers";
import { recordSection } from "./report";

type Principal =
  | "none"
  | "bad"
  | "revoked"
  | "expired"
  | "revoked after use"
  | "expired after use"
  | "other"
  | "owner"
  | "admin";
const PRINCIPALS: Principal[] = [
  "none",
  "bad",
  "revoked",
  "expired",
  "revoked after use",
  "expired after use",
  "other",
  "admin",
  "owner",
];

let requests = 0;
let cells = 0;
let rowsChecked = 0;
let logLines = 0;

interface Fixture {
  userId: number;
  jobId: number;
  /** A tag only this fixture's job has. */
  tag: string;
  runId: number;
  tokenId: number;
}

let owner: Awaited<ReturnType<typeof makeUser>>;
let other: Awaited<ReturnType<typeof makeUser>>;
let revoked: string;
let expired: string;

/** A fresh job and run of the owner's (so a mutating cell never disturbs another). */
async function fixture(): Promise<Fixture> {
  const tag = `owned-${randomUUID()}`;
  const job = await call("POST", "/api/v1/jobs", {
    token: owner.token,
    body: { name: "owned", tags: [tag] },
  });
  const run = await call("POST", "/api/v1/runs", {
    token: owner.token,
    body: runRequest(job.json.id),
  });
  const issued = await Token.issue({ userId: owner.user.id, label: "to revoke" });
  return {
    userId: owner.user.id,
    jobId: job.json.id,
    tag,
    runId: run.json.id,
    tokenId: issued.info.id,
  };
}

/**
 * A token of the owner's that a read has just verified (so this process remembers whose it
 * is, and runs the next read while it checks the token again), then revoked or expired.
 */
async function usedThen(end: "revoke" | "expire"): Promise<string> {
  const issued = await Token.issue({ userId: owner.user.id, label: `${end} after use` });
  const used = await call("GET", "/api/v1/jobs", { token: issued.token });
  requests++;
  expect(used.status).toBe(200);
  if (end === "revoke") await Token.revoke({ userId: owner.user.id, tokenId: issued.info.id });
  else await sql()`update api_token set time_expires = now() where id = ${issued.info.id}`;
  return issued.token;
}

/**
 * The contents of every table a route could write (a token's last use aside, which a
 * request's own check records): any insert, update or delete changes it.
 */
async function written() {
  const [row] = await sql()`
    select (select md5(coalesce(string_agg(t::text, ',' order by id), '')) from "user" t) as users,
           (select md5(coalesce(string_agg(
              (t.id, t.user_id, t.time_revoked, t.time_expires)::text, ',' order by id), ''))
              from api_token t) as tokens,
           (select md5(coalesce(string_agg(t::text, ',' order by id), '')) from job t) as jobs,
           (select md5(coalesce(string_agg(t::text, ',' order by id), '')) from run t) as runs,
           (select md5(coalesce(string_agg(t::text, ',' order by id), '')) from upload t) as uploads,
           (select md5(coalesce(string_agg(t::text, ',' order by t::text), ''))
              from idempotency_key t) as keys`;
  return row;
}

/** Every log line `work` writes (stdout and stderr), with LOG_LEVEL=info. */
async function logsOf(work: () => Promise<void>): Promise<string[]> {
  const lines: string[] = [];
  const capture = (chunk: unknown) => {
    lines.push(String(chunk));
    return true;
  };
  const out = vi.spyOn(process.stdout, "write").mockImplementation(capture);
  const err = vi.spyOn(process.stderr, "write").mockImplementation(capture);
  const level = process.env.LOG_LEVEL;
  process.env.LOG_LEVEL = "info";
  try {
    await work();
  } finally {
    process.env.LOG_LEVEL = level;
    out.mockRestore();
    err.mockRestore();
  }
  const json = lines.flatMap((l) => l.split("\n")).filter(Boolean);
  logLines += json.length;
  return json;
}

async function tokenOf(p: Principal): Promise<string | undefined> {
  switch (p) {
    case "revoked after use":
      return usedThen("revoke");
    case "expired after use":
      return usedThen("expire");
    case "none":
      return undefined;
    case "bad":
      return `epx_${"A".repeat(43)}`;
    case "revoked":
      return revoked;
    case "expired":
      return expired;
    case "other":
      return other.token;
    case "owner":
      return owner.token;
    case "admin":
      return ADMIN();
  }
}

interface Cell {
  route: string;
  /** Expected status per principal; the rest of the row defaults to `rest`. */
  expect: Partial<Record<Principal, number>> & { rest: number };
  send: (
    f: Fixture,
    token: string | undefined,
    p: Principal,
  ) => Promise<Awaited<ReturnType<typeof call>>>;
}

const U = 401; // every principal that is not a live user token
const user = (other: number, own: number) => ({
  rest: U,
  other,
  owner: own,
});
const adminOnly = (status: number) => ({ rest: U, admin: status });
// The epx client's routes refuse a token with a 403: the status the client reads as
// UnauthorizedUserError.
const E = 403;
const epxUser = (other: number, own: number) => ({ rest: E, other, owner: own });

const v1 =
  (method: string, path: (f: Fixture) => string, body?: (f: Fixture) => unknown) =>
  (f: Fixture, token: string | undefined) =>
    call(method, path(f), { token, body: body?.(f) });
const epx =
  (method: string, path: (f: Fixture) => string, body?: (f: Fixture) => unknown) =>
  (f: Fixture, token: string | undefined, p: Principal) =>
    // The admin token is an `Authorization` bearer; users' go the epx client's way.
    call(method, path(f), {
      token,
      offline: p !== "admin",
      headers: epxHeaders(),
      body: body?.(f),
    });

const MATRIX: Cell[] = [
  { route: "GET /health", expect: { rest: 200 }, send: v1("GET", () => "/health") },
  { route: "GET /openapi.json", expect: { rest: 200 }, send: v1("GET", () => "/openapi.json") },
  { route: "GET /docs", expect: { rest: 200 }, send: v1("GET", () => "/docs") },
  {
    route: "GET /api/v1/registration",
    expect: user(200, 200),
    send: v1("GET", () => "/api/v1/registration"),
  },
  {
    route: "POST /api/v1/jobs",
    expect: user(201, 201),
    send: v1(
      "POST",
      () => "/api/v1/jobs",
      () => ({ name: "m" }),
    ),
  },
  { route: "GET /api/v1/jobs", expect: user(200, 200), send: v1("GET", () => "/api/v1/jobs") },
  {
    route: "GET /api/v1/jobs/{job_id}",
    expect: user(404, 200),
    send: v1("GET", (f) => `/api/v1/jobs/${f.jobId}`),
  },
  {
    route: "PATCH /api/v1/jobs/{job_id}",
    expect: user(404, 200),
    send: v1(
      "PATCH",
      (f) => `/api/v1/jobs/${f.jobId}`,
      () => ({ status: "submitted" }),
    ),
  },
  {
    route: "DELETE /api/v1/jobs/{job_id}",
    expect: user(404, 200),
    send: v1("DELETE", (f) => `/api/v1/jobs/${f.jobId}`),
  },
  {
    route: "GET /api/v1/jobs/{job_id}/runs",
    expect: user(404, 200),
    send: v1("GET", (f) => `/api/v1/jobs/${f.jobId}/runs`),
  },
  {
    route: "POST /api/v1/runs",
    expect: user(404, 201),
    send: v1(
      "POST",
      () => "/api/v1/runs",
      (f) => runRequest(f.jobId),
    ),
  },
  {
    route: "GET /api/v1/runs/{run_id}",
    expect: user(404, 200),
    send: v1("GET", (f) => `/api/v1/runs/${f.runId}`),
  },
  {
    route: "PATCH /api/v1/runs/{run_id}",
    expect: user(404, 200),
    send: v1(
      "PATCH",
      (f) => `/api/v1/runs/${f.runId}`,
      () => ({ status: "RUNNING" }),
    ),
  },
  {
    route: "GET /api/v1/runs/{run_id}/upload-url",
    expect: user(404, 200),
    send: v1("GET", (f) => `/api/v1/runs/${f.runId}/upload-url?type=config`),
  },
  {
    route: "POST /jobs/register (epx)",
    expect: epxUser(200, 200),
    send: epx(
      "POST",
      () => "/jobs/register",
      () => ({ tags: ["info_job"] }),
    ),
  },
  {
    route: "POST /jobs (epx)",
    expect: epxUser(404, 200),
    send: epx(
      "POST",
      () => "/jobs",
      (f) => ({ jobId: f.jobId, context: "job", type: "config" }),
    ),
  },
  {
    route: "POST /runs (epx)",
    expect: epxUser(404, 200),
    send: epx(
      "POST",
      () => "/runs",
      (f) => ({ runRequests: [runRequest(f.jobId)] }),
    ),
  },
  {
    route: "GET /runs?job_id (epx)",
    expect: epxUser(404, 200),
    send: epx("GET", (f) => `/runs?job_id=${f.jobId}`),
  },
  {
    // The fixture's job has a tag of its own: the owner's latest with it; nobody else has one.
    route: "GET /jobs?latest=true (epx)",
    expect: epxUser(404, 200),
    send: epx("GET", (f) => `/jobs?latest=true&tags=${f.tag}`),
  },
  {
    route: "GET /jobs/me (epx)",
    expect: epxUser(200, 200),
    send: async (f, token, p) => {
      const res = await epx("GET", () => `/jobs/me?tags=${f.tag}`)(f, token, p);
      if (res.status === 200) expect(res.json.jobs).toHaveLength(p === "owner" ? 1 : 0);
      return res;
    },
  },
  {
    route: "DELETE /jobs/{job_id} (epx)",
    expect: epxUser(404, 200),
    send: epx("DELETE", (f) => `/jobs/${f.jobId}`),
  },
  {
    // Another user's run is not stopped: it is listed as NotFound (a 200 either way).
    route: "PATCH /runs?id= (epx)",
    expect: epxUser(200, 200),
    send: async (f, token, p) => {
      const res = await epx("PATCH", () => `/runs?id=${f.runId}`)(f, token, p);
      if (res.status === 200) expect(res.json.deletedIds).toHaveLength(p === "owner" ? 1 : 0);
      return res;
    },
  },
  {
    route: "POST /runs/retry (epx)",
    expect: epxUser(200, 200),
    send: epx(
      "POST",
      () => "/runs/retry",
      (f) => ({ runRequestIds: [f.runId] }),
    ),
  },
  {
    route: "GET /jobs/results?job_id (epx)",
    expect: epxUser(404, 200),
    send: epx("GET", (f) => `/jobs/results?job_id=${f.jobId}`),
  },
  {
    route: "POST /api/v1/admin/users",
    expect: adminOnly(201),
    send: v1(
      "POST",
      () => "/api/v1/admin/users",
      () => ({ name: "new" }),
    ),
  },
  {
    route: "POST /api/v1/admin/users/{user_id}/tokens",
    expect: adminOnly(201),
    send: v1(
      "POST",
      (f) => `/api/v1/admin/users/${f.userId}/tokens`,
      () => ({}),
    ),
  },
  {
    route: "GET /api/v1/admin/users/{user_id}/tokens",
    expect: adminOnly(200),
    send: v1("GET", (f) => `/api/v1/admin/users/${f.userId}/tokens`),
  },
  {
    route: "DELETE /api/v1/admin/users/{user_id}/tokens/{token_id}",
    expect: adminOnly(200),
    send: v1("DELETE", (f) => `/api/v1/admin/users/${f.userId}/tokens/${f.tokenId}`),
  },
  {
    route: "GET /api/v1/nowhere",
    expect: { rest: 404 },
    send: v1("GET", () => "/api/v1/nowhere"),
  },
];

const table: string[] = [];

beforeAll(async () => {
  owner = await makeUser("Owner");
  other = await makeUser("Other");
  const r = await Token.issue({ userId: owner.user.id, label: "revoked" });
  await Token.revoke({ userId: owner.user.id, tokenId: r.info.id });
  revoked = r.token;
  const e = await Token.issue({ userId: owner.user.id, label: "expired", ttlDays: 1 });
  await sql()`update api_token set time_expires = now() - interval '1 second' where id = ${e.info.id}`;
  expired = e.token;
});

afterAll(async () => {
  await recordSection("security", {
    title: "Authorization and security",
    totals: { requests, users: 2, rowsChecked, lost: 0 },
    figures: {
      "routes in the authorization matrix": MATRIX.length,
      "principals per route": PRINCIPALS.length,
      "matrix cells checked": cells,
      requests,
      "JSON log lines inspected": logLines,
      "rows checked": rowsChecked,
    },
    detail: [
      "The matrix (statuses as answered):",
      "",
      `| route | ${PRINCIPALS.join(" | ")} |`,
      `| --- | ${PRINCIPALS.map(() => "---:").join(" | ")} |`,
      ...table,
    ],
    checks: [
      "every cell of the matrix below answered exactly its expected status (a fresh job, run and token for each cell)",
      "every refused token gets the same JSON body on a route, whether the token is missing, unknown, revoked or expired, before or after its last use: a 401 with `WWW-Authenticate: Bearer`, or on the epx client's routes the 403 that client expects; the body's `description` repeats its message, as the epx client reads it",
      "a read-only route with a token verified before runs while the token is checked again: one that was revoked or expired since gets that same refusal (with its CORS headers) and nothing the route read, a compressed list included, and no route wrote anything for it; its log line names no user",
      "another user's job or run answers the very 404 a missing one does (same code, same message but for the id)",
      "the admin token opens /api/v1/admin/* only, by `Authorization` only; user tokens never open it",
      "the database holds only SHA-256 hashes of tokens; responses show the 12-character prefix, never the secret",
      "every response to a request that carried a token has `Cache-Control: no-store`; no response has `X-Powered-By` or `Server`",
      "CORS: preflight and simple responses name only the allowed origin; a request without an Origin gets no CORS headers; every response varies by Origin",
      "with LOG_LEVEL=info, no log line holds a token, an `X-Amz-Signature` or `X-Amz-Credential`, or any signature issued",
    ],
  });
});

describe("authorization matrix: every route × every kind of caller", () => {
  for (const cell of MATRIX) {
    it(cell.route, async () => {
      const row: number[] = [];
      let unauthorized: string | undefined;
      for (const p of PRINCIPALS) {
        const f = await fixture();
        const token = await tokenOf(p);
        const before = p.endsWith("after use") ? await written() : undefined;
        const res = await cell.send(f, token, p);
        // A route that runs while its token is checked again must not write anything.
        if (before) expect(await written(), `${cell.route} as ${p}`).toEqual(before);
        requests++;
        cells++;
        const expected = cell.expect[p] ?? cell.expect.rest;
        row.push(res.status);
        expect(res.status, `${cell.route} as ${p}: ${res.text.slice(0, 200)}`).toBe(expected);
        expect(res.headers.get("x-powered-by")).toBeNull();
        expect(res.headers.get("server")).toBeNull();
        if (token)
          expect(res.headers.get("cache-control"), `${cell.route} as ${p}`).toBe("no-store");
        if (res.status >= 400) {
          expect(res.headers.get("content-type")).toMatch(/^application\/json/);
          expect(typeof res.json.error.code).toBe("string");
        }
        if (res.status === 401 || (res.status === 403 && cell.route.includes("(epx)"))) {
          expect(res.json.error.code).toBe("unauthorized");
          expect(res.json.description).toBe(res.json.error.message);
          if (res.status === 401) expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
          else expect(res.headers.get("www-authenticate")).toBeNull();
          expect(res.headers.get("content-encoding")).toBeNull();
          // Missing, unknown, revoked and expired tokens are indistinguishable.
          if (!cell.route.includes("/admin/")) {
            unauthorized ??= res.text;
            expect(res.text).toBe(unauthorized);
          }
        }
        if (p === "other" && res.status === 404) {
          // The very answer a missing resource gets.
          const missing = await cell.send({ ...f, jobId: 9e12, runId: 9e12 }, token, p);
          requests++;
          expect(missing.status).toBe(404);
          expect(res.json.error.code).toBe(missing.json.error.code);
          expect(res.json.error.message.replace(/\d+/g, "N")).toBe(
            missing.json.error.message.replace(/\d+/g, "N"),
          );
        }
        if (p === "other" && res.status === 200) {
          expect(res.text).not.toMatch(new RegExp(`"userId":${owner.user.id}\\b`));
        }
      }
      table.push(`| ${cell.route} | ${row.join(" | ")} |`);
    });
  }

  it("nothing the other user or the admin token did changed the owner's jobs", async () => {
    const [row] = await sql()`
      select count(*)::int as n from job
      where user_id = ${owner.user.id} and status <> 'created' and name = 'owned'`;
    // Only the owner's own PATCH cell moved a job.
    expect(row!.n).toBe(1);
    rowsChecked += row!.n;
  });
});

describe("readOnly routes", () => {
  it("can only be GETs without middleware of their own", () => {
    const route = (method: "get" | "post", middleware?: MiddlewareHandler) => () =>
      router().openapi(
        {
          method,
          path: "/x",
          readOnly: true,
          middleware,
          responses: () => ({ 200: { description: "x" } }),
        },
        (c) => c.json({}, 200),
      );
    expect(route("post")).toThrow(/only a GET without middleware is readOnly/);
    expect(route("get", async (_c, next) => next())).toThrow(/readOnly/);
    expect(route("get")).not.toThrow();
  });
});

describe("a token revoked after its last use", () => {
  it("gets the 401 for a HEAD, and the 401 (not the route's 503) when both fail", async () => {
    const head = await call("HEAD", "/api/v1/jobs", { token: await usedThen("revoke") });
    expect(head.status).toBe(401);
    expect(head.headers.get("www-authenticate")).toMatch(/^Bearer/);
    // The route fails as in an outage while the token's check refuses it: the answer is the
    // refusal, without the Retry-After the route's 503 was given.
    const token = await usedThen("revoke");
    const list = vi.spyOn(Job, "list").mockRejectedValueOnce(new UnavailableError());
    try {
      const res = await call("GET", "/api/v1/jobs", { token });
      expect(res.status).toBe(401);
      expect(res.headers.get("retry-after")).toBeNull();
      expect(list).toHaveBeenCalledOnce();
    } finally {
      list.mockRestore();
    }
    requests += 2;
  });

  it("an outage during the check is a 503 with Retry-After, not the route's data", async () => {
    const issued = await Token.issue({ userId: owner.user.id, label: "outage" });
    expect((await call("GET", "/api/v1/jobs", { token: issued.token })).status).toBe(200);
    const verify = vi.spyOn(Token, "verify").mockRejectedValueOnce(new UnavailableError());
    try {
      const res = await call("GET", "/api/v1/jobs", { token: issued.token });
      expect(res.status).toBe(503);
      expect(res.headers.get("retry-after")).toBe("5");
      expect(res.json.error.code).toBe("unavailable");
      expect(res.text).not.toContain('"jobs"');
    } finally {
      verify.mockRestore();
    }
    requests += 2;
  });

  it("gets a 401 a browser can read, logged without a user", async () => {
    const lines = await logsOf(async () => {
      const token = await usedThen("revoke");
      const res = await call("GET", "/api/v1/jobs", {
        token,
        headers: { origin: "https://app.example.org" },
      });
      requests++;
      expect(res.status).toBe(401);
      expect(res.headers.get("access-control-allow-origin")).toBe("https://app.example.org");
      expect(res.headers.get("access-control-expose-headers")).toContain("x-request-id");
    });
    const logged = lines.map((l) => JSON.parse(l));
    const refused = logged.filter((e) => e.msg === "request" && e.status === 401);
    expect(refused).toHaveLength(1);
    expect(refused[0].userId).toBeUndefined();
    // The read that verified the token first did name its user.
    expect(logged.some((e) => e.msg === "request" && e.status === 200 && e.userId)).toBe(true);
  });

  it("gets the 401 where a valid one would get a 400 or a 404", async () => {
    const token = await usedThen("revoke");
    for (const path of ["/api/v1/jobs/not-a-number", "/api/v1/jobs/999999999", "/api/v1/runs/0"]) {
      const res = await call("GET", path, { token });
      requests++;
      expect(res.status, path).toBe(401);
      expect(res.json.error.code).toBe("unauthorized");
    }
    const owners = await Promise.all(
      ["/api/v1/jobs/not-a-number", "/api/v1/jobs/999999999"].map((p) =>
        call("GET", p, { token: owner.token }),
      ),
    );
    requests += 2;
    expect(owners.map((r) => r.status)).toEqual([400, 404]);
  });

  it("gets the refusal (the epx route's 403) for a read that would have been a compressed list, and nothing of it", async () => {
    const job = await call("POST", "/api/v1/jobs", { token: owner.token, body: { name: "big" } });
    const runs = { runs: Array.from({ length: 200 }, () => runRequest(job.json.id)) };
    const submitted = await call("POST", "/api/v1/runs", { token: owner.token, body: runs });
    requests += 2;
    expect(submitted.status).toBe(201);
    const issued = await Token.issue({ userId: owner.user.id, label: "list, then revoked" });
    const list = () =>
      call("GET", `/runs?job_id=${job.json.id}`, {
        token: issued.token,
        offline: true,
        headers: { ...epxHeaders(), "accept-encoding": "gzip" },
      });
    const before = await list();
    expect(before.status).toBe(200);
    expect(before.headers.get("content-encoding")).toBe("gzip");
    await Token.revoke({ userId: owner.user.id, tokenId: issued.info.id });
    const after = await list();
    requests += 2;
    expect(after.status).toBe(403);
    expect(after.headers.get("content-encoding")).toBeNull();
    expect(after.headers.get("content-type")).toMatch(/^application\/json/);
    expect(after.json.error.code).toBe("unauthorized");
    expect(after.text).not.toContain(`"jobId":${job.json.id}`);
  });
});

describe("tokens", () => {
  it("are stored as SHA-256 hashes only, and shown by prefix only", async () => {
    const rows = await sql()`select * from api_token where user_id = ${owner.user.id}`;
    rowsChecked += rows.length;
    const mine = rows.find(
      (r) => r.token_hash === createHash("sha256").update(owner.token).digest("hex"),
    );
    expect(mine).toBeDefined();
    expect(mine!.prefix).toBe(owner.token.slice(0, 12));
    for (const row of rows) {
      const text = JSON.stringify(row);
      expect(text).not.toContain(owner.token);
      expect(text).not.toContain(owner.token.slice(12));
    }
    const reg = await call("GET", "/api/v1/registration", { token: owner.token });
    requests++;
    expect(reg.text).not.toContain(owner.token.slice(12));
    const list = await call("GET", `/api/v1/admin/users/${owner.user.id}/tokens`, {
      token: ADMIN(),
    });
    requests++;
    expect(list.text).not.toContain(owner.token.slice(12));
    expect(list.json.tokens.every((t: { prefix: string }) => t.prefix.length === 12)).toBe(true);
  });

  it("the admin token is not a user token, and a user token is not the admin token", async () => {
    const asUser = [
      call("GET", "/api/v1/registration", { token: ADMIN() }),
      call("GET", "/api/v1/registration", { token: ADMIN(), offline: true }),
      call("POST", "/jobs/register", { token: ADMIN(), offline: true, body: { tags: [] } }),
    ];
    const asAdmin = [
      call("POST", "/api/v1/admin/users", { token: owner.token, body: { name: "x" } }),
      // The admin token only counts in `Authorization`, never in `Offline-Token`.
      call("POST", "/api/v1/admin/users", { token: ADMIN(), offline: true, body: { name: "x" } }),
      call("GET", `/api/v1/admin/users/${owner.user.id}/tokens`, {
        headers: { authorization: `Bearer ${ADMIN()}x` },
      }),
      call("GET", `/api/v1/admin/users/${owner.user.id}/tokens`, {
        headers: { authorization: `Bearer ${ADMIN().slice(0, -1)}` },
      }),
      call("GET", `/api/v1/admin/users/${owner.user.id}/tokens`, {
        headers: { authorization: ADMIN() },
      }),
    ];
    const refused = await Promise.all([...asUser, ...asAdmin]);
    requests += refused.length;
    // The epx client's route (the third) answers a refused token with 403.
    expect(refused.map((res) => res.status)).toEqual([401, 401, 403, 401, 401, 401, 401, 401]);
    for (const res of refused) expect(res.json.error.code).toBe("unauthorized");
  });
});

describe("response headers", () => {
  it("answers CORS for the allowed origin only", async () => {
    const preflight = (origin: string) =>
      call("OPTIONS", "/api/v1/jobs", {
        headers: {
          origin,
          "access-control-request-method": "POST",
          "access-control-request-headers": "authorization, content-type, idempotency-key",
        },
      });
    const ok = await preflight("https://app.example.org");
    const evil = await preflight("https://evil.example");
    requests += 2;
    expect(ok.headers.get("access-control-allow-origin")).toBe("https://app.example.org");
    expect(ok.headers.get("access-control-allow-headers")?.toLowerCase()).toContain(
      "idempotency-key",
    );
    expect(evil.headers.get("access-control-allow-origin")).toBeNull();
    const simple = await call("GET", "/api/v1/jobs", {
      token: owner.token,
      headers: { origin: "https://evil.example" },
    });
    requests++;
    expect(simple.headers.get("access-control-allow-origin")).toBeNull();
    expect(simple.headers.get("access-control-allow-credentials")).toBeNull();
    // The allowed origin reads the response and its request id; a client that sends no
    // Origin (epx, scripts) gets no CORS headers. Every answer varies by Origin.
    const browser = await call("GET", "/api/v1/jobs", {
      token: owner.token,
      headers: { origin: "https://app.example.org" },
    });
    const script = await call("GET", "/api/v1/jobs", { token: owner.token });
    requests += 2;
    expect(browser.headers.get("access-control-allow-origin")).toBe("https://app.example.org");
    expect(browser.headers.get("access-control-expose-headers")?.split(",")).toEqual(
      expect.arrayContaining(["x-request-id", "Retry-After", "Idempotent-Replayed"]),
    );
    expect([...script.headers.keys()].filter((k) => k.startsWith("access-control-"))).toEqual([]);
    for (const res of [browser, script, simple]) {
      expect(res.status).toBe(200);
      expect(res.headers.get("vary")).toMatch(/\bOrigin\b/);
    }
  });
});

describe("logs", () => {
  it("never hold a token or a URL signature (LOG_LEVEL=info, every line captured)", async () => {
    const signatures: string[] = [];
    const keep = (url: string) => {
      const u = new URL(url);
      signatures.push(
        u.searchParams.get("X-Amz-Signature")!,
        u.searchParams.get("X-Amz-Credential")!,
      );
    };
    const json = await logsOf(async () => {
      const f = await fixture();
      const token = owner.token;
      for (const type of ["config", "input", "results", "logs"]) {
        const res = await call("GET", `/api/v1/runs/${f.runId}/upload-url?type=${type}`, { token });
        keep(res.json.url);
        if (type === "results") await fetch(res.json.url, { method: "PUT", body: "r" });
      }
      const done = await call("PATCH", `/api/v1/runs/${f.runId}`, {
        token,
        body: { resultsUploaded: true },
      });
      expect(done.status).toBe(200);
      const up = await call("POST", "/jobs", {
        token,
        offline: true,
        headers: epxHeaders(),
        body: { jobId: f.jobId, context: "job", type: "input" },
      });
      keep(up.json.url);
      const results = await call("GET", `/jobs/results?job_id=${f.jobId}`, {
        token,
        offline: true,
        headers: epxHeaders(),
      });
      expect(results.json.urls).toHaveLength(1);
      keep(results.json.urls[0].url);
      // A client echoing a signed URL's query (or a token) back at the API.
      const echoed = new URL(up.json.url);
      await call("GET", `/api/v1/jobs${echoed.search}&token=${token}`, { token });
      await call("GET", `/health?X-Amz-Signature=${signatures[0]}`);
      await call("GET", "/api/v1/registration", { token: revoked });
      await call("POST", "/api/v1/admin/users", { token: ADMIN(), body: { name: "logged" } });
      requests += 12;
    });
    expect(json.length).toBeGreaterThanOrEqual(12);
    for (const line of json) {
      const entry = JSON.parse(line);
      expect(entry).toMatchObject({ level: expect.any(String), requestId: expect.any(String) });
      for (const secret of [owner.token, revoked, ADMIN(), ...signatures]) {
        expect(line).not.toContain(secret);
      }
      expect(line).not.toMatch(/X-Amz-(Signature|Credential)/i);
    }
  });
});
