/** A table of bad requests, each with the 4xx a user should get — never a 500. */

import { Run } from "@fred/core/run";
import { beforeAll, describe, expect, it } from "vitest";
import { MAX_BODY_BYTES } from "../src/api/middleware/body";
import { ADMIN, call, makeUser, runRequest } from "./helpers";

let token: string;
let jobId: number;
let runId: number;

beforeAll(async () => {
  ({ token } = await makeUser());
  jobId = (await call("POST", "/api/v1/jobs", { token, body: {} })).json.id;
  runId = (await call("POST", "/api/v1/runs", { token, body: runRequest(jobId) })).json.id;
});

const JSON_HEADERS = { "content-type": "application/json" };
/** A string's characters as single bytes: \xe9 stays one byte, which UTF-8 never writes alone. */
const latin1 = (text: string) => Buffer.from(text, "latin1");
const big = (bytes: number) => JSON.stringify({ name: "x", metadata: { pad: "x".repeat(bytes) } });

type Case = [
  name: string,
  method: string,
  path: () => string,
  init: () => { body?: unknown; raw?: string | Uint8Array; headers?: Record<string, string> },
  status: number,
  code: string,
];

const cases: Case[] = [
  [
    "broken JSON",
    "POST",
    () => "/api/v1/jobs",
    () => ({ raw: '{"name":', headers: JSON_HEADERS }),
    400,
    "invalid",
  ],
  [
    "JSON that is not an object",
    "POST",
    () => "/api/v1/jobs",
    () => ({ raw: "[1,2]", headers: JSON_HEADERS }),
    400,
    "invalid",
  ],
  [
    "JSON null",
    "POST",
    () => "/api/v1/runs",
    () => ({ raw: "null", headers: JSON_HEADERS }),
    400,
    "invalid",
  ],
  [
    "empty JSON body",
    "POST",
    () => "/api/v1/runs",
    () => ({ raw: "", headers: JSON_HEADERS }),
    400,
    "invalid",
  ],
  [
    "wrong type: name as number",
    "POST",
    () => "/api/v1/jobs",
    () => ({ body: { name: 5 } }),
    400,
    "invalid",
  ],
  [
    "wrong type: tags as string",
    "POST",
    () => "/api/v1/jobs",
    () => ({ body: { tags: "a,b" } }),
    400,
    "invalid",
  ],
  [
    "huge string",
    "POST",
    () => "/api/v1/jobs",
    () => ({ body: { name: "n".repeat(10_000) } }),
    400,
    "invalid",
  ],
  [
    "unknown field",
    "POST",
    () => "/api/v1/jobs",
    () => ({ body: { name: "x", owner: 1 } }),
    400,
    "invalid",
  ],
  [
    "unknown field in a run",
    "POST",
    () => "/api/v1/runs",
    () => ({ body: runRequest(jobId, { priority: 9 }) }),
    400,
    "invalid",
  ],
  [
    "run with a string jobId",
    "POST",
    () => "/api/v1/runs",
    () => ({ body: runRequest("abc" as never) }),
    400,
    "invalid",
  ],
  [
    "one run over the batch limit",
    "POST",
    () => "/api/v1/runs",
    () => ({
      body: { runs: Array.from({ length: Run.LIMITS.batch + 1 }, () => runRequest(jobId)) },
    }),
    400,
    "invalid",
  ],
  ["zero runs", "POST", () => "/api/v1/runs", () => ({ body: { runs: [] } }), 400, "invalid"],
  [
    "a body twice the limit",
    "POST",
    () => "/api/v1/jobs",
    () => ({ raw: big(2 * MAX_BODY_BYTES), headers: JSON_HEADERS }),
    413,
    "payload_too_large",
  ],
  [
    "text/plain body",
    "POST",
    () => "/api/v1/jobs",
    () => ({ raw: "{}", headers: { "content-type": "text/plain" } }),
    415,
    "unsupported_media_type",
  ],
  [
    "body with no content type",
    "POST",
    () => "/api/v1/jobs",
    () => ({ raw: "{}" }),
    415,
    "unsupported_media_type",
  ],
  ["negative job id", "GET", () => "/api/v1/jobs/-1", () => ({}), 400, "invalid"],
  ["zero job id", "GET", () => "/api/v1/jobs/0", () => ({}), 400, "invalid"],
  ["non-numeric job id", "GET", () => "/api/v1/jobs/abc", () => ({}), 400, "invalid"],
  ["id with trailing junk", "GET", () => "/api/v1/runs/12abc", () => ({}), 400, "invalid"],
  ["float id", "GET", () => "/api/v1/runs/1.5", () => ({}), 400, "invalid"],
  ["id of 2^63", "GET", () => "/api/v1/runs/9223372036854775808", () => ({}), 400, "invalid"],
  [
    "SQL in an id",
    "GET",
    () => `/api/v1/jobs/${encodeURIComponent("1 OR 1=1")}`,
    () => ({}),
    400,
    "invalid",
  ],
  ["missing job", "GET", () => "/api/v1/jobs/987654321", () => ({}), 404, "not_found"],
  ["missing run", "GET", () => "/api/v1/runs/987654321", () => ({}), 404, "not_found"],
  [
    "runs for a missing job",
    "POST",
    () => "/api/v1/runs",
    () => ({ body: runRequest(987654321) }),
    404,
    "not_found",
  ],
  ["page size over the limit", "GET", () => "/api/v1/jobs?limit=101", () => ({}), 400, "invalid"],
  ["negative page size", "GET", () => "/api/v1/jobs?limit=-1", () => ({}), 400, "invalid"],
  ["non-numeric cursor", "GET", () => "/api/v1/jobs?cursor=x", () => ({}), 400, "invalid"],
  [
    "unknown upload type",
    "GET",
    () => `/api/v1/runs/${runId}/upload-url?type=secrets`,
    () => ({}),
    400,
    "invalid",
  ],
  ["epx runs with no runRequests", "POST", () => "/runs", () => ({ body: {} }), 400, "invalid"],
  ["epx run list with no job_id", "GET", () => "/runs", () => ({}), 400, "invalid"],
  [
    "epx run list with a bad job_id",
    "GET",
    () => "/runs?job_id=1;DROP TABLE run",
    () => ({}),
    400,
    "invalid",
  ],
  [
    "epx upload with a bad context",
    "POST",
    () => "/jobs",
    () => ({ body: { jobId, context: "user", type: "input" } }),
    400,
    "invalid",
  ],
  [
    "epx upload: a job cannot have results",
    "POST",
    () => "/jobs",
    () => ({ body: { jobId, context: "job", type: "results" } }),
    400,
    "invalid",
  ],
  // Bytes that are not UTF-8 would be stored as U+FFFD, as if that had been sent.
  [
    "a body that is not UTF-8",
    "POST",
    () => "/api/v1/jobs",
    () => ({ raw: latin1('{"name":"caf\xe9"}'), headers: JSON_HEADERS }),
    400,
    "invalid",
  ],
  [
    "a run that is not UTF-8, with an Idempotency-Key",
    "POST",
    () => "/api/v1/runs",
    () => ({
      raw: latin1(JSON.stringify(runRequest(jobId, { workingDir: "/w\xff" }))),
      headers: { ...JSON_HEADERS, "idempotency-key": "not-utf8" },
    }),
    400,
    "invalid",
  ],
  // What JSON.parse keeps but cannot be stored as sent: refused, never altered.
  [
    "metadata with 1e400 (Infinity, stored as null)",
    "POST",
    () => "/api/v1/jobs",
    () => ({ raw: '{"metadata":{"big":1e400}}', headers: JSON_HEADERS }),
    400,
    "invalid",
  ],
  [
    "the key __proto__ (zod's records drop it)",
    "POST",
    () => "/api/v1/jobs",
    () => ({ raw: '{"metadata":{"__proto__":{"x":1}}}', headers: JSON_HEADERS }),
    400,
    "invalid",
  ],
  [
    "the key __proto__, every letter spelled as an escape",
    "POST",
    () => "/api/v1/jobs",
    () => ({
      raw: `{"metadata":{"${[..."__proto__"].map((ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`).join("")}":1}}`,
      headers: JSON_HEADERS,
    }),
    400,
    "invalid",
  ],
  // An id in a JSON body is a JSON number: coerced, these named jobs 1 and 16.
  ...(
    [
      ["true", () => true],
      ["in an array", () => [jobId]],
      ["in hex, as a string", () => `0x${jobId.toString(16)}`],
    ] as const
  ).map(
    ([how, id]): Case => [
      `a run's job id ${how}`,
      "POST",
      () => "/api/v1/runs",
      () => ({ body: { ...runRequest(jobId), jobId: id() } }),
      400,
      "invalid",
    ],
  ),
  [
    "a cursor in hex",
    "GET",
    () => `/api/v1/jobs/${jobId}/runs?cursor=0x1`,
    () => ({}),
    400,
    "invalid",
  ],
  ["a limit in hex", "GET", () => "/api/v1/jobs?limit=0x10", () => ({}), 400, "invalid"],
  // An id in a path or query is its decimal digits: spelled otherwise, it named another id.
  ...(
    [
      ["in hex", () => `0x${jobId.toString(16)}`],
      ["with a leading zero", () => `0${jobId}`],
      ["with a leading space", () => `%20${jobId}`],
      ["with a plus sign", () => `%2B${jobId}`],
      ["with a decimal point", () => `${jobId}.0`],
    ] as const
  ).flatMap(([how, id]): Case[] => [
    [`a job id ${how}, in a path`, "GET", () => `/api/v1/jobs/${id()}`, () => ({}), 400, "invalid"],
    [
      `a job id ${how}, in a query`,
      "GET",
      () => `/runs?job_id=${id()}`,
      () => ({}),
      400,
      "invalid",
    ],
  ]),
  [
    "run id in exponent form",
    "GET",
    () => `/api/v1/runs/${runId / 10}e1`,
    () => ({}),
    400,
    "invalid",
  ],
  // A route that takes a body refuses none at all, however framed.
  ["no body where one is required", "POST", () => "/api/v1/jobs", () => ({}), 400, "invalid"],
  [
    "an empty body, Content-Length 0, no type",
    "POST",
    () => "/jobs/register",
    // Bytes: a string body would be given a text/plain type.
    () => ({ raw: new Uint8Array(0), headers: { "content-length": "0" } }),
    400,
    "invalid",
  ],
  [
    "epx register with a NUL in a tag",
    "POST",
    () => "/jobs/register",
    () => ({ body: { tags: ["a\u0000b"] } }),
    400,
    "invalid",
  ],
  [
    "illegal status",
    "PATCH",
    () => `/api/v1/jobs/${jobId}`,
    () => ({ body: { status: "done" } }),
    400,
    "invalid",
  ],
];

describe("bad input", () => {
  it.each(cases)("%s", async (_name, method, path, init, status, code) => {
    const res = await call(method, path(), { token, ...init() });
    expect(res.status).toBe(status);
    expect(res.json?.error?.code).toBe(code);
    expect(typeof res.json.error.message).toBe("string");
  });

  it("an admin route's ids are decimal digits too", async () => {
    const { user } = await makeUser("Hex");
    const path = `/api/v1/admin/users/0x${user.id.toString(16)}/tokens`;
    const res = await call("GET", path, { headers: { authorization: `Bearer ${ADMIN()}` } });
    expect(res.status).toBe(400);
    const ok = await call("GET", `/api/v1/admin/users/${user.id}/tokens`, {
      headers: { authorization: `Bearer ${ADMIN()}` },
    });
    expect(ok.status).toBe(200);
  });

  it("validation errors say which field is wrong", async () => {
    const res = await call("POST", "/api/v1/runs", {
      token,
      body: { runs: [runRequest(jobId), runRequest(jobId, { fredArgs: [{ flag: 1 }] })] },
    });
    expect(res.status).toBe(400);
    expect(res.json.error.details).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: expect.stringContaining("runs.1.fredArgs.0") }),
      ]),
    );
  });

  it("an id past the safe integers is one issue, said once", async () => {
    const res = await call("GET", "/api/v1/jobs/99999999999999999999", { token });
    expect(res.status).toBe(400);
    expect(res.json.error.details).toEqual([
      expect.objectContaining({ path: "job_id", code: "too_big" }),
    ]);
  });

  it("none of it wrote anything", async () => {
    const jobs = await call("GET", "/api/v1/jobs", { token });
    expect(jobs.json.jobs).toHaveLength(1);
    const runs = await call("GET", `/api/v1/jobs/${jobId}/runs`, { token });
    expect(runs.json.runs).toHaveLength(1);
  });
});
