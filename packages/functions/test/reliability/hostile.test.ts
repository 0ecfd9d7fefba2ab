/**
 * Hostile input, property-based (fast-check) over every route: random and malformed JSON,
 * wrong types, missing and unknown fields, very long strings, deep nesting, unicode, NUL
 * and lone surrogates, huge arrays, odd numbers, odd ids, headers and methods.
 *
 * Invariants, for every input: never a 5xx; an error is always a JSON `{error: {code,
 * message}}`; and another user's data never changes (checked by a digest of the victim's
 * rows before and after) nor shows up in a response. Then the limits, one by one, and
 * SQL-injection and path tricks, checked against the database rather than assumed.
 */
import { randomBytes } from "node:crypto";
import { sql } from "@fred/core/drizzle";
import { Job } from "@fred/core/job";
import { Run } from "@fred/core/run";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { app } from "../../src/api/app";
import { MAX_BODY_BYTES } from "../../src/api/middleware/body";
import { ADMIN, call, makeUser, runRequest } from "../helpers";
import { recordSection } from "./report";

const RUNS_PER_ROUTE = Number(process.env.FUZZ_RUNS ?? 150);
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);

let inputs = 0;
let rowsChecked = 0;
const statuses = new Map<number, number>();
const routesCovered = new Set<string>();

type Principal = Awaited<ReturnType<typeof makeUser>>;
let victim: Principal & { jobId: number; runId: number; marker: string };
let attacker: Principal & { jobId: number; runId: number };
let sacrifice: Principal;
/** The attacker's job that a DELETE may take: the one its id would name stays for the rest. */
let spareJobId: number;

async function setUp(name: string, marker: string) {
  const p = await makeUser(name);
  const job = await call("POST", "/api/v1/jobs", {
    token: p.token,
    body: { name: marker, tags: [marker], metadata: { marker } },
  });
  const run = await call("POST", "/api/v1/runs", {
    token: p.token,
    body: runRequest(job.json.id, { workingDir: `/${marker}` }),
  });
  await call("GET", `/api/v1/runs/${run.json.id}/upload-url?type=results`, { token: p.token });
  return { ...p, jobId: job.json.id as number, runId: run.json.id as number };
}

/** A digest of every row that belongs to the victim, in every table. */
async function victimDigest(): Promise<string> {
  const id = victim.user.id;
  const [row] = await sql()`
    select md5(concat_ws('|',
      (select string_agg(u::text, ',') from "user" u where id = ${id}),
      (select string_agg(t::text, ',' order by id) from api_token t where user_id = ${id}),
      (select string_agg(j::text, ',' order by id) from job j where user_id = ${id}),
      (select string_agg(r::text, ',' order by id) from run r where user_id = ${id}),
      (select string_agg(x::text, ',' order by x.id) from upload x
         join job j on j.id = x.job_id where j.user_id = ${id}),
      (select string_agg(k::text, ',' order by key) from idempotency_key k where user_id = ${id})
    )) as digest,
    (select count(*) from job where user_id = ${id})
      + (select count(*) from run where user_id = ${id})
      + (select count(*) from api_token where user_id = ${id}) as n`;
  rowsChecked += Number(row!.n);
  return row!.digest as string;
}

beforeAll(async () => {
  const marker = `victim-${randomBytes(6).toString("hex")}`;
  victim = { ...(await setUp("Victim", marker)), marker };
  attacker = await setUp("Mallory", "mallory");
  sacrifice = await makeUser("Sacrifice");
  spareJobId = (await call("POST", "/api/v1/jobs", { token: attacker.token, body: {} })).json.id;
});

afterAll(async () => {
  const fiveXX = [...statuses].filter(([s]) => s >= 500).reduce((n, [, c]) => n + c, 0);
  const byClass = (lo: number) =>
    [...statuses].filter(([s]) => s >= lo && s < lo + 100).reduce((n, [, c]) => n + c, 0);
  await recordSection("hostile", {
    title: "Hostile input",
    totals: { requests: inputs, users: 3, inputsTried: inputs, rowsChecked, lost: 0 },
    figures: {
      "inputs tried": inputs,
      "routes covered (method + path)": routesCovered.size,
      "fast-check runs per route": RUNS_PER_ROUTE,
      "fast-check seed": SEED,
      "answered 2xx": byClass(200),
      "answered 4xx": byClass(400),
      "answered 5xx": fiveXX,
      "victim rows re-checked": rowsChecked,
    },
    checks: [
      "every route, with random methods, headers, ids, query strings and bodies: never a 5xx, every error a JSON `{error: {code, message}}`",
      'bodies: random JSON, broken JSON, wrong types, missing and unknown fields, strings up to 100,000 characters, nesting up to 100,000 deep, NUL, lone surrogates, right-to-left marks, emoji, arrays of 5,000, numbers -1, 0, 2^53, 2^63, 1e308, 1.5, "12abc"',
      "another user's data: a digest of every row of the victim's (user, tokens, jobs, runs, uploads, idempotency keys) is unchanged, and no response carries the victim's marker",
      "limits enforced at and just over each bound: body size, runs per batch, tags, tag length, name, description, metadata, string lengths, page size",
      "SQL injection in ids, tags, query strings and upload types is stored verbatim or refused, never executed: every table is intact and counts match",
      "path tricks (`..`, encoded slashes, NUL, upload types like `../../x`) never reach another key: every upload key matches `jobs/{id}/yyyy/mm/dd/HHMMSS/<fixed name>`",
    ],
  });
});

// ---------- generators ----------

const LONE = ["\ud800", "a\udfffb", "\udbff"];
const oddStrings = fc.constantFrom(
  "",
  " ",
  "\u0000",
  "a\u0000b",
  ...LONE,
  "\u202egnp.exe",
  "🦠🧬",
  "'; DROP TABLE job; --",
  "1 OR 1=1",
  "../../etc/passwd",
  "..%2F..%2F",
  "%00",
  "$\u007Bjndi:ldap://x}",
  "<script>alert(1)</script>",
  "\r\nX-Injected: 1",
  "null",
  "12abc",
);
const oddNumbers = fc.constantFrom(-1, 0, -0, 1.5, 2 ** 53, 2 ** 63, 1e308, -1e308, 0.1);
const longString = fc
  .constantFrom(65, 101, 201, 257, 1025, 2001, 16_385, 100_000)
  .map((n) => "x".repeat(n));

const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 5, arbitrary: oddStrings },
  { weight: 2, arbitrary: fc.constantFrom("\u0000", ...LONE) },
  oddNumbers,
  longString,
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.constantFrom(null, true, false, [], {}, "1", "-1", "9223372036854775808"),
  fc.anything({ maxDepth: 3, maxKeys: 5 }),
  fc.array(oddStrings, { maxLength: 5 }),
  fc.constantFrom(1001, 5000).map((n) => Array(n).fill("x")),
);

/** Valid bodies for each write route, for mutation. */
function validBody(route: string): Record<string, unknown> {
  const run = runRequest(attacker.jobId);
  switch (route) {
    case "POST /api/v1/jobs":
      return { name: "n", description: "d", tags: ["t"], metadata: { a: 1 } };
    case "PATCH /api/v1/jobs/{job}":
      return { status: "submitted" };
    case "POST /api/v1/runs":
      return run;
    case "PATCH /api/v1/runs/{run}":
      return { status: "RUNNING", podPhase: "Running", containerStatus: "ok" };
    case "POST /jobs/register":
      return { tags: ["info_job"] };
    case "POST /jobs":
      return { jobId: attacker.jobId, context: "job", type: "config" };
    case "POST /runs":
      return { runRequests: [run] };
    case "POST /runs/retry":
      return { runRequestIds: [attacker.runId] };
    case "POST /api/v1/admin/users":
      return { name: "fuzz" };
    case "POST /api/v1/admin/users/{user}/tokens":
      return { label: "l", ttlDays: 1 };
    default:
      return {};
  }
}

/** Every path into a value: ["name"], ["tags", 0], ["population", "locations", 0] … */
function paths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (!value || typeof value !== "object") return [];
  return Object.entries(value).flatMap(([k, v]) => {
    const key = Array.isArray(value) ? Number(k) : k;
    return [[...prefix, key], ...paths(v, [...prefix, key])];
  });
}

/** Replace, delete or add one field, at any depth, with a hostile value. */
function mutate(body: Record<string, unknown>, pick: number, value: unknown, extra: boolean) {
  const copy = structuredClone(body);
  const all = paths(copy);
  if (extra || all.length === 0) {
    copy[`unknown_${pick % 10}`] = value;
    return copy;
  }
  const path = all[pick % all.length]!;
  type Container = Record<string | number, unknown>;
  let parent = copy as Container;
  for (const key of path.slice(0, -1)) parent = parent[key] as Container;
  const last = path.at(-1)!;
  if (pick % 11 === 10 && !Array.isArray(parent)) delete parent[last];
  else parent[last] = value;
  return copy;
}

const deep = (n: number, open = "[", close = "]") => open.repeat(n) + close.repeat(n);

function bodyText(route: string): fc.Arbitrary<string | undefined> {
  const valid = validBody(route);
  return fc.oneof(
    {
      weight: 6,
      arbitrary: fc
        .tuple(
          fc.nat(),
          hostileValue,
          fc.nat(9).map((n) => n === 0),
        )
        .map(([path, value, extra]) => JSON.stringify(mutate(valid, path, value, extra))),
    },
    fc.json({ maxDepth: 4 }),
    fc.string({ unit: "binary", maxLength: 200 }),
    fc.nat().map((k) => {
      const text = JSON.stringify(valid);
      return text.slice(0, k % Math.max(1, text.length));
    }),
    {
      weight: 2,
      arbitrary: fc
        .constantFrom(10, 33, 1000, 10_000, 100_000)
        .chain((n) =>
          fc.constantFrom(
            deep(n),
            `{"metadata":{"a":${deep(n)}}}`,
            `{"runs":${deep(n)}}`,
            `{"tags":${deep(n)}}`,
            `{"runRequests":[${deep(n, '{"a":', "}").replace(/\{"a":\}/, '{"a":1}')}]}`,
          ),
        ),
    },
    fc.constantFrom(undefined, "", "null", "[]", "0", '"x"', "{}", "{,}", "\u0000", "\ufeff{}"),
  );
}

const idSegment = (own: () => number, other: () => number) =>
  fc.oneof(
    { weight: 3, arbitrary: fc.constant(null).map(() => String(own())) },
    { weight: 2, arbitrary: fc.constant(null).map(() => String(other())) },
    fc.constantFrom(
      "0",
      "-1",
      "1.5",
      "12abc",
      "1e3",
      "0x10",
      "9223372036854775808",
      "99999999999999999999999",
      "%20 1",
      "1%00",
      "..",
      "..%2F..%2Fhealth",
      "1%2F..",
      "1%20OR%201%3D1",
      "1%3BDROP%20TABLE%20job",
      "%27%20OR%20%271%27%3D%271",
      "%F0%9F%A6%A0",
      "%FF%FE",
      "x".repeat(3000),
    ),
    fc.string({ unit: "binary", maxLength: 30 }).map(encodeURIComponent),
  );

const queryValue = fc.oneof(
  fc.constantFrom(
    "1",
    "100",
    "101",
    "1000",
    "1001",
    "-1",
    "0",
    "1.5",
    "12abc",
    "9223372036854775808",
  ),
  fc.constantFrom("config", "input", "results", "logs", "../../x", "config%00", "job"),
  fc.constantFrom("application/zip", "text/plain\r\nX-Amz-Acl: public-read", "a/b;c=d", ""),
  fc.string({ unit: "binary", maxLength: 20 }),
);
const queryString = fc
  .array(
    fc.tuple(
      fc.constantFrom("limit", "cursor", "job_id", "type", "contentType", "x", "job_id[]"),
      queryValue,
    ),
    { maxLength: 4 },
  )
  .map((pairs) =>
    pairs.length
      ? `?${pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join("&")}`
      : "",
  );

type Auth = "attacker" | "offline" | "none" | "garbage" | "admin";
const authHeader = (kind: Auth, garbage: string): Record<string, string> => {
  switch (kind) {
    case "attacker":
      return { authorization: `Bearer ${attacker.token}` };
    case "offline":
      return { "offline-token": `Bearer ${attacker.token}` };
    case "admin":
      return { authorization: `Bearer ${ADMIN()}` };
    case "garbage":
      return { authorization: garbage };
    default:
      return {};
  }
};
const garbageAuth = fc.oneof(
  fc.constantFrom(
    "Bearer",
    "Bearer ",
    "Basic YWRtaW46YWRtaW4=",
    "Bearer epx_",
    "Bearer epx_' OR 1=1 --",
    `Bearer epx_${"A".repeat(500)}`,
    "bearer\tepx_x",
  ),
  fc.string({ unit: "grapheme-ascii", maxLength: 60 }).map((s) => `Bearer ${s}`),
);

const contentType = fc.constantFrom(
  "application/json",
  "application/json; charset=utf-8",
  "application/vnd.api+json",
  "APPLICATION/JSON",
  "text/plain",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=x",
  "application/json, text/html",
  "",
  undefined,
);
const oddHeaders = fc.record(
  {
    "x-request-id": fc.oneof(
      fc.constantFrom("ok-id", "x".repeat(500), "a b", "../../"),
      fc.string({ unit: "grapheme-ascii", maxLength: 20 }),
    ),
    origin: fc.constantFrom("https://evil.example", "null", "https://app.example.org"),
    accept: fc.constantFrom("text/html", "*/*", "application/xml"),
    "idempotency-key": fc.constantFrom("k", "", "x".repeat(300), "a b"),
    "user-agent": fc.constantFrom("epx_client_1.2.2", `epx_client_${"9".repeat(100)}`, "curl"),
  },
  { requiredKeys: [] },
);
const method = (declared: string) =>
  fc.oneof(
    { weight: 8, arbitrary: fc.constant(declared) },
    fc.constantFrom("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "PROPFIND", "FOO"),
  );

// ---------- the property ----------

interface Route {
  method: string;
  path: string;
  /** Admin routes are fuzzed with the admin token against a sacrificial user. */
  admin?: boolean;
}

const ROUTES: Route[] = [
  { method: "GET", path: "/health" },
  { method: "GET", path: "/openapi.json" },
  { method: "GET", path: "/api/v1/registration" },
  { method: "POST", path: "/api/v1/jobs" },
  { method: "GET", path: "/api/v1/jobs" },
  { method: "GET", path: "/api/v1/jobs/{job}" },
  { method: "PATCH", path: "/api/v1/jobs/{job}" },
  { method: "GET", path: "/api/v1/jobs/{job}/runs" },
  { method: "POST", path: "/api/v1/runs" },
  { method: "GET", path: "/api/v1/runs/{run}" },
  { method: "PATCH", path: "/api/v1/runs/{run}" },
  { method: "GET", path: "/api/v1/runs/{run}/upload-url" },
  { method: "POST", path: "/jobs/register" },
  { method: "POST", path: "/jobs" },
  { method: "POST", path: "/runs" },
  { method: "GET", path: "/runs" },
  { method: "GET", path: "/jobs/results" },
  { method: "DELETE", path: "/api/v1/jobs/{job}" },
  { method: "DELETE", path: "/jobs/{job}" },
  { method: "GET", path: "/jobs" },
  { method: "GET", path: "/jobs/me" },
  { method: "PATCH", path: "/runs" },
  { method: "POST", path: "/runs/retry" },
  { method: "POST", path: "/api/v1/admin/users", admin: true },
  { method: "POST", path: "/api/v1/admin/users/{user}/tokens", admin: true },
  { method: "GET", path: "/api/v1/admin/users/{user}/tokens", admin: true },
  { method: "DELETE", path: "/api/v1/admin/users/{user}/tokens/{token}", admin: true },
  { method: "GET", path: "/{anything}" },
];

/**
 * `envelope`: everything random (method, auth, headers, ids, query, body).
 * `body`: the route's own method, a valid token and JSON content type, so the random body
 * reaches validation and the database.
 */
function requestFor(route: Route, mode: "envelope" | "body") {
  const body = mode === "body";
  const name = `${route.method} ${route.path}`;
  const admin = route.admin === true;
  // Admin requests may only name the sacrificial user (or garbage): never the victim.
  const users = admin
    ? idSegment(
        () => sacrifice.user.id,
        () => sacrifice.user.id,
      ).filter((s) => {
        // The route coerces like Number(): " 1", "1e0" and "0x1" all name user 1.
        try {
          return Number(decodeURIComponent(s)) !== victim.user.id;
        } catch {
          return true;
        }
      })
    : fc.constant("0");
  return fc.record({
    method: body ? fc.constant(route.method) : method(route.method),
    job: idSegment(
      () => attacker.jobId,
      () => victim.jobId,
    ),
    run: idSegment(
      () => attacker.runId,
      () => victim.runId,
    ),
    user: users,
    token: admin ? fc.constantFrom("999999999", "0", "-1", "x") : fc.constant("0"),
    anything: fc.oneof(
      fc.string({ unit: "binary", maxLength: 40 }).map(encodeURIComponent),
      fc.constantFrom("..", "%2e%2e/%2e%2e/etc/passwd", "api/v1/../../health", "%00", "//x"),
    ),
    query: queryString,
    body: bodyText(name),
    auth: body
      ? fc.constant<Auth>(admin ? "admin" : "attacker")
      : admin
        ? fc.constantFrom<Auth>("admin", "admin", "admin", "attacker", "none", "garbage")
        : fc.constantFrom<Auth>("attacker", "attacker", "offline", "none", "garbage"),
    garbage: garbageAuth,
    contentType: body ? fc.constant("application/json") : contentType,
    headers: body ? fc.constant({}) : oddHeaders,
  });
}

type Req = ReturnType<typeof requestFor> extends fc.Arbitrary<infer T> ? T : never;

async function send(route: Route, r: Req) {
  const job =
    r.method === "DELETE" && r.job === String(attacker.jobId) ? String(spareJobId) : r.job;
  const path = route.path
    .replace("{job}", job)
    .replace("{run}", r.run)
    .replace("{user}", r.user)
    .replace("{token}", r.token)
    .replace("{anything}", r.anything);
  const headers: Record<string, string> = { ...r.headers, ...authHeader(r.auth, r.garbage) };
  if (r.contentType !== undefined) headers["content-type"] = r.contentType;
  const withBody = r.body !== undefined && !["GET", "HEAD"].includes(r.method);
  let res: Response;
  try {
    res = await app.request(`${path}${r.query}`, {
      method: r.method,
      headers,
      body: withBody ? r.body : undefined,
    });
  } catch (error) {
    // The Fetch API itself refused to build this request (not something a server sees).
    if (error instanceof TypeError) return;
    throw error;
  }
  inputs++;
  routesCovered.add(`${route.method} ${route.path}`);
  statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
  const text = await res.text();
  const where = `${r.method} ${path.slice(0, 200)}${r.query.slice(0, 100)} → ${res.status} ${text.slice(0, 300)}`;
  expect(res.status, where).toBeLessThan(500);
  expect(text, where).not.toContain(victim.marker);
  if (r.method === "HEAD") {
    expect(text, where).toBe(""); // HEAD never has a body; the status is what counts
  } else if (res.status >= 400) {
    expect(res.headers.get("content-type"), where).toMatch(/^application\/json/);
    const json = JSON.parse(text);
    expect(typeof json.error?.code, where).toBe("string");
    expect(typeof json.error?.message, where).toBe("string");
  } else if (text && !path.startsWith("/docs")) {
    expect(() => JSON.parse(text), where).not.toThrow();
  }
}

describe("property: hostile requests to every route", () => {
  let before: string;
  beforeAll(async () => {
    before = await victimDigest();
  });

  const cases = ROUTES.flatMap((route) => [
    { route, mode: "envelope" as const },
    ...(["POST", "PATCH"].includes(route.method) ? [{ route, mode: "body" as const }] : []),
  ]);
  for (const { route, mode } of cases) {
    it(`${route.method} ${route.path} (${mode})`, { timeout: 120_000 }, async () => {
      const result = await fc.check(
        fc.asyncProperty(requestFor(route, mode), (r) => send(route, r)),
        { numRuns: RUNS_PER_ROUTE, seed: SEED, endOnFailure: true },
      );
      if (result.failed) {
        // fast-check's own report prints the whole (possibly megabyte) input; trim it.
        const input = JSON.stringify(result.counterexample?.[0]);
        throw new Error(
          `seed ${SEED}: ${String(result.errorInstance).slice(0, 1500)}\n` +
            `input: ${input && input.length > 1500 ? `${input.slice(0, 1500)}…` : input}`,
        );
      }
      expect(await victimDigest()).toBe(before);
    });
  }
});

// ---------- limits, one by one ----------

async function expectStatus(
  method: string,
  path: string,
  options: Parameters<typeof call>[2],
  status: number,
) {
  inputs++;
  const res = await call(method, path, options);
  statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
  expect(res.status, `${method} ${path} → ${res.text.slice(0, 300)}`).toBe(status);
  if (status >= 400) expect(typeof res.json?.error?.code).toBe("string");
  return res;
}

async function countRows(query: string, ...params: (string | number)[]): Promise<number> {
  const [row] = await sql().unsafe(`select count(*)::int as n from (${query}) q`, params);
  const n = (row as unknown as { n: number }).n;
  rowsChecked += n;
  return n;
}

describe("limits are enforced at their bounds", () => {
  const jobsOf = () => countRows("select 1 from job where user_id = $1", attacker.user.id);
  const runsOf = () => countRows("select 1 from run where user_id = $1", attacker.user.id);
  const token = () => attacker.token;

  it(`body: ${MAX_BODY_BYTES} bytes is read, one byte more is 413 (with or without Content-Length)`, async () => {
    const pad = (bytes: number) => {
      const shell = JSON.stringify({ name: "x", description: "" });
      return JSON.stringify({ name: "x", description: "d".repeat(bytes - shell.length) });
    };
    expect(Buffer.byteLength(pad(MAX_BODY_BYTES))).toBe(MAX_BODY_BYTES);
    const before = await jobsOf();
    const json = { "content-type": "application/json" };
    // At the limit the body is parsed (and refused for its content, not its size).
    await expectStatus(
      "POST",
      "/api/v1/jobs",
      { token: token(), raw: pad(MAX_BODY_BYTES), headers: json },
      400,
    );
    await expectStatus(
      "POST",
      "/api/v1/jobs",
      { token: token(), raw: pad(MAX_BODY_BYTES + 1), headers: json },
      413,
    );
    const length = { ...json, "content-length": String(MAX_BODY_BYTES + 1) };
    await expectStatus(
      "POST",
      "/api/v1/jobs",
      { token: token(), raw: pad(MAX_BODY_BYTES + 1), headers: length },
      413,
    );
    // A stream with no Content-Length is cut off as it passes the limit.
    inputs++;
    const chunks = 3;
    const stream = new ReadableStream({
      start(controller) {
        for (let i = 0; i < chunks; i++)
          controller.enqueue(new Uint8Array(MAX_BODY_BYTES / 2).fill(32));
        controller.close();
      },
    });
    const res = await app.request("/api/v1/jobs", {
      method: "POST",
      headers: { ...json, authorization: `Bearer ${token()}` },
      body: stream,
      duplex: "half",
    });
    expect(res.status).toBe(413);
    expect(await jobsOf()).toBe(before);
  });

  it(`runs per batch: ${Run.LIMITS.batch} accepted, ${Run.LIMITS.batch + 1} refused whole`, async () => {
    const runs = (n: number) => Array.from({ length: n }, () => runRequest(attacker.jobId));
    const before = await runsOf();
    await expectStatus(
      "POST",
      "/api/v1/runs",
      { token: token(), body: { runs: runs(Run.LIMITS.batch + 1) } },
      400,
    );
    await expectStatus(
      "POST",
      "/runs",
      { token: token(), offline: true, body: { runRequests: runs(Run.LIMITS.batch + 1) } },
      400,
    );
    expect(await runsOf()).toBe(before);
    await expectStatus(
      "POST",
      "/api/v1/runs",
      { token: token(), body: { runs: runs(Run.LIMITS.batch) } },
      201,
    );
    expect(await runsOf()).toBe(before + Run.LIMITS.batch);
    await expectStatus(
      "POST",
      "/runs",
      { token: token(), offline: true, body: { runRequests: runs(Run.LIMITS.batch) } },
      200,
    );
    expect(await runsOf()).toBe(before + 2 * Run.LIMITS.batch);
  });

  it(`tags: ${Job.LIMITS.tags} of ${Job.LIMITS.tagLength} characters accepted, one more of either refused`, async () => {
    const tags = (n: number, len: number) =>
      Array.from({ length: n }, (_, i) => `${i}`.padEnd(len, "t"));
    const max = tags(Job.LIMITS.tags, Job.LIMITS.tagLength);
    const ok = await expectStatus(
      "POST",
      "/api/v1/jobs",
      { token: token(), body: { tags: max } },
      201,
    );
    expect(ok.json.tags).toEqual(max);
    await expectStatus(
      "POST",
      "/jobs/register",
      { token: token(), offline: true, body: { tags: max } },
      200,
    );
    for (const body of [
      { tags: tags(Job.LIMITS.tags + 1, 5) },
      { tags: tags(1, Job.LIMITS.tagLength + 1) },
      { tags: [""] },
      { tags: ["\u0007bell"] },
      { tags: ["\ud800"] },
    ]) {
      await expectStatus("POST", "/api/v1/jobs", { token: token(), body }, 400);
      await expectStatus("POST", "/jobs/register", { token: token(), offline: true, body }, 400);
    }
  });

  it("string lengths: name, description, metadata, run request fields", async () => {
    const cases: [Record<string, unknown>, number][] = [
      [{ name: "n".repeat(Job.LIMITS.name) }, 201],
      [{ name: "n".repeat(Job.LIMITS.name + 1) }, 400],
      [{ description: "d".repeat(Job.LIMITS.description) }, 201],
      [{ description: "d".repeat(Job.LIMITS.description + 1) }, 400],
      [{ metadata: { pad: "m".repeat(Job.LIMITS.metadataBytes - 10) } }, 201],
      [{ metadata: { pad: "m".repeat(Job.LIMITS.metadataBytes - 9) } }, 400],
      [{ metadata: { ["k".repeat(201)]: 1 } }, 400],
    ];
    for (const [body, status] of cases) {
      await expectStatus("POST", "/api/v1/jobs", { token: token(), body }, status);
    }
    const run = (o: Record<string, unknown>) => runRequest(attacker.jobId, o);
    const runCases: [Record<string, unknown>, number][] = [
      [run({ workingDir: "w".repeat(1024) }), 201],
      [run({ workingDir: "w".repeat(1025) }), 400],
      [run({ size: "s".repeat(65) }), 400],
      [run({ fredVersion: "v".repeat(65) }), 400],
      [run({ fredArgs: [{ flag: "-p", value: "v".repeat(1000) }] }), 201],
      [run({ fredArgs: [{ flag: "-p", value: "v".repeat(1001) }] }), 400],
      // As many as the epx client builds: one `-l` per location (up to 1,000), and more.
      [run({ fredArgs: Array(2000).fill({ flag: "-l", value: "x" }) }), 201],
      [run({ fredArgs: Array(2001).fill({ flag: "-l", value: "x" }) }), 400],
      [run({ fredFiles: Array(100).fill("/f") }), 201],
      [run({ fredFiles: Array(101).fill("/f") }), 400],
      [run({ population: { version: "v", locations: Array(1000).fill("l") } }), 201],
      [run({ population: { version: "v", locations: Array(1001).fill("l") } }), 400],
    ];
    for (const [body, status] of runCases) {
      await expectStatus("POST", "/api/v1/runs", { token: token(), body }, status);
    }
  });

  it("page size: jobs up to 100, runs up to 1000", async () => {
    for (const [limit, status] of [
      [1, 200],
      [100, 200],
      [101, 400],
      [0, 400],
      [-1, 400],
    ] as const) {
      await expectStatus("GET", `/api/v1/jobs?limit=${limit}`, { token: token() }, status);
    }
    for (const [limit, status] of [
      [1000, 200],
      [1001, 400],
    ] as const) {
      await expectStatus(
        "GET",
        `/api/v1/jobs/${attacker.jobId}/runs?limit=${limit}`,
        { token: token() },
        status,
      );
    }
    const page = await call("GET", `/api/v1/jobs/${attacker.jobId}/runs?limit=1000`, {
      token: token(),
    });
    expect(page.json.runs.length).toBeLessThanOrEqual(1000);
  });
});

describe("regressions found by the property above (each was a 500)", () => {
  it("NUL and lone surrogates in stored strings and jsonb are 400, never a 500 or a silent U+FFFD", async () => {
    const before = await jobsOf();
    for (const body of [
      { metadata: { a: "\ud800" } },
      { metadata: { "\udc00": 1 } },
      { metadata: { a: ["x", { b: "a\u0000" }] } },
      { name: "\ud800" },
      { description: "x\udfff" },
    ]) {
      await expectStatus("POST", "/api/v1/jobs", { token: attacker.token, body }, 400);
    }
    await expectStatus(
      "POST",
      "/api/v1/runs",
      { token: attacker.token, body: runRequest(attacker.jobId, { workingDir: "\ud800" }) },
      400,
    );
    await expectStatus(
      "POST",
      "/runs",
      {
        token: attacker.token,
        offline: true,
        body: {
          runRequests: [runRequest(attacker.jobId, { fredArgs: [{ flag: "\udbff", value: "x" }] })],
        },
      },
      400,
    );
    expect(await jobsOf()).toBe(before);
    // Well-formed astral characters (surrogate pairs) are fine.
    const ok = await expectStatus(
      "POST",
      "/api/v1/jobs",
      { token: attacker.token, body: { name: "🦠", tags: ["🧬"], metadata: { "🦠": "🧬" } } },
      201,
    );
    expect(ok.json).toMatchObject({ name: "🦠", tags: ["🧬"], metadata: { "🦠": "🧬" } });
  });

  it("deeply nested metadata is 400 (JSON.stringify overflowed the stack at ~5,000 levels)", async () => {
    const deep = (n: number) => "[".repeat(n) + "]".repeat(n);
    const json = { "content-type": "application/json" };
    await expectStatus(
      "POST",
      "/api/v1/jobs",
      {
        token: attacker.token,
        raw: `{"metadata":{"a":${deep(Job.LIMITS.metadataDepth - 1)}}}`,
        headers: json,
      },
      201,
    );
    for (const n of [Job.LIMITS.metadataDepth, 5_000, 100_000]) {
      await expectStatus(
        "POST",
        "/api/v1/jobs",
        { token: attacker.token, raw: `{"metadata":{"a":${deep(n)}}}`, headers: json },
        400,
      );
    }
  });

  it("NUL in a user name or token label is 400 (Postgres refused it: 500)", async () => {
    const admin = ADMIN();
    await expectStatus(
      "POST",
      "/api/v1/admin/users",
      { token: admin, body: { name: "a\u0000b" } },
      400,
    );
    await expectStatus(
      "POST",
      "/api/v1/admin/users",
      { token: admin, body: { name: "a", label: "\u0000" } },
      400,
    );
    await expectStatus(
      "POST",
      "/api/v1/admin/users",
      { token: admin, body: { name: "\ud800" } },
      400,
    );
    await expectStatus(
      "POST",
      `/api/v1/admin/users/${sacrifice.user.id}/tokens`,
      { token: admin, body: { label: "x\u0000" } },
      400,
    );
  });
});

const jobsOf = () => countRows("select 1 from job where user_id = $1", attacker.user.id);

// ---------- SQL injection and path tricks ----------

const INJECTIONS = [
  "'; DROP TABLE job; --",
  "' OR '1'='1",
  '"; DELETE FROM run; --',
  "1; UPDATE api_token SET time_revoked = now(); --",
  "$$; DROP TABLE upload; $$",
  '\\\'; TRUNCATE "user" CASCADE; --',
  "') OR 1=1 --",
];

describe("SQL injection and path tricks are inert (checked in the database)", () => {
  it("is stored verbatim in names, tags and metadata, and read back unchanged", async () => {
    for (const text of INJECTIONS) {
      const res = await expectStatus(
        "POST",
        "/api/v1/jobs",
        { token: attacker.token, body: { name: text, tags: [text], metadata: { [text]: text } } },
        201,
      );
      const [row] =
        await sql()`select name, to_json(tags) as tags, metadata from job where id = ${res.json.id}`;
      rowsChecked++;
      expect(row).toEqual({ name: text, tags: [text], metadata: { [text]: text } });
      const back = await expectStatus(
        "GET",
        `/api/v1/jobs/${res.json.id}`,
        { token: attacker.token },
        200,
      );
      expect(back.json).toMatchObject({ name: text, tags: [text] });
    }
  });

  it("is refused in ids, query strings, upload types and content types", async () => {
    const t = { token: attacker.token };
    for (const text of INJECTIONS) {
      const e = encodeURIComponent(text);
      const id = encodeURIComponent(`1${text}`);
      await expectStatus("GET", `/api/v1/jobs/${id}`, t, 400);
      await expectStatus("GET", `/api/v1/runs/${id}`, t, 400);
      await expectStatus("GET", `/api/v1/jobs?cursor=${id}`, t, 400);
      await expectStatus("GET", `/api/v1/jobs?limit=${id}`, t, 400);
      await expectStatus("GET", `/runs?job_id=${id}`, { ...t, offline: true }, 400);
      await expectStatus("GET", `/jobs/results?job_id=${id}`, { ...t, offline: true }, 400);
      await expectStatus("GET", `/api/v1/runs/${attacker.runId}/upload-url?type=${e}`, t, 400);
      await expectStatus(
        "GET",
        `/api/v1/runs/${attacker.runId}/upload-url?contentType=${encodeURIComponent(`application/zip${text}`)}`,
        t,
        400,
      );
      await expectStatus(
        "POST",
        "/jobs",
        { ...t, offline: true, body: { jobId: attacker.jobId, context: "job", type: text } },
        400,
      );
      await expectStatus(
        "POST",
        "/jobs",
        {
          ...t,
          offline: true,
          body: { jobId: `${attacker.jobId}${text}`, context: "job", type: "input" },
        },
        400,
      );
    }
  });

  it("path tricks reach no other key, route or user", async () => {
    const t = { token: attacker.token };
    for (const type of [
      "../../etc/passwd",
      "config/../../x",
      "config%00",
      "..%2F..%2Fx",
      "CONFIG",
      " config",
    ]) {
      await expectStatus(
        "GET",
        `/api/v1/runs/${attacker.runId}/upload-url?type=${encodeURIComponent(type)}`,
        t,
        400,
      );
    }
    for (const path of [
      `/api/v1/jobs/${attacker.jobId}%2F..%2F${victim.jobId}`,
      `/api/v1/jobs/..%2F${victim.jobId}`,
      `/api/v1/jobs/${victim.jobId}%00`,
      `/api/v1/jobs/${victim.jobId}.json`,
      `/api/v1/runs/${attacker.runId}%2F..%2F${victim.runId}`,
    ]) {
      inputs++;
      const res = await call("GET", path, t);
      expect(res.status, path).toBeGreaterThanOrEqual(400);
      expect(res.status, path).toBeLessThan(500);
      expect(res.text).not.toContain(victim.marker);
    }
    // Dot segments are resolved by URL parsing before routing: /a/../b is /b.
    const dotted = await call("GET", `/api/v1/jobs/x/../${victim.jobId}`, t);
    expect(dotted.status).toBe(404);
    // The victim's run through the attacker's job: refused.
    await expectStatus(
      "POST",
      "/jobs",
      {
        ...t,
        offline: true,
        body: { jobId: attacker.jobId, context: "run", type: "config", runId: victim.runId },
      },
      404,
    );
    await expectStatus(
      "POST",
      "/jobs",
      { ...t, offline: true, body: { jobId: victim.jobId, context: "job", type: "input" } },
      404,
    );

    // Every key ever issued is one of the fixed names under its own job's prefix.
    const rows = await sql()`select u.key, u.job_id, u.run_id from upload u`;
    rowsChecked += rows.length;
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) {
      const m =
        /^jobs\/(\d+)\/\d{4}\/\d{2}\/\d{2}\/\d{6}\/(job_input\.zip|job_config\.json|run_(\d+)_(input\.zip|config\.json|results\.zip|logs\.zip))$/.exec(
          row.key,
        );
      expect(m, row.key).not.toBeNull();
      expect(Number(m![1])).toBe(Number(row.job_id));
      if (m![3]) expect(Number(m![3])).toBe(Number(row.run_id));
    }
  });

  it("leaves every table in place and every count where the requests put it", async () => {
    const tables = await sql()`
      select table_name from information_schema.tables where table_schema = 'public' order by 1`;
    expect(tables.map((t) => t.table_name)).toEqual(
      expect.arrayContaining(["api_token", "idempotency_key", "job", "run", "upload", "user"]),
    );
    const [revoked] =
      await sql()`select count(*)::int as n from api_token where time_revoked is not null`;
    expect(revoked!.n).toBe(0);
    const me = await call("GET", "/api/v1/registration", { token: attacker.token });
    expect(me.status).toBe(200);
  });
});
