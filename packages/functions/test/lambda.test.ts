/** The Lambda entry point, fed real API Gateway REST (v1) proxy events. */
import { gunzipSync, inflateSync } from "node:zlib";
import { sql } from "@fred/core/drizzle";
import { Run } from "@fred/core/run";
import { describe, expect, it } from "vitest";
import { handler } from "../src/api";
import { MAX_BODY_BYTES } from "../src/api/middleware/body";
import { makeUser, runRequest } from "./helpers";
import { restEvent } from "./rest-event";

const json = (res: { body: string }) => JSON.parse(res.body);
/** A response header, as the adapter returns it for REST events (multi-value). */
const header = (res: object, name: string) =>
  (res as { multiValueHeaders?: Record<string, string[]> }).multiValueHeaders?.[name]?.[0];

/** A new user's epx headers, and a job registered with them. */
async function epxJob() {
  const { token } = await makeUser();
  const headers = { "Offline-Token": `Bearer ${token}`, "content-type": "application/json" };
  const registered = await handler(
    restEvent("POST", "/jobs/register", { headers, body: '{"tags":[]}' }),
    {} as never,
  );
  return { headers, jobId: json(registered).id as number };
}

/** An epx GET of `path?job_id=`, with those headers and any `extra`. */
function epxGet(path: string, headers: object, jobId: number, extra: object = {}) {
  return handler(
    restEvent("GET", path, {
      headers: { ...headers, ...extra },
      query: { job_id: [String(jobId)] },
    }),
    {} as never,
  );
}

describe("Lambda handler (API Gateway REST proxy)", () => {
  it("answers GET /health with the gateway's request id", async () => {
    const res = await handler(restEvent("GET", "/health"), {} as never);
    expect(res.statusCode).toBe(200);
    expect(json(res).status).toBe("healthy");
    const out = res as {
      headers?: Record<string, unknown>;
      multiValueHeaders?: Record<string, unknown>;
    };
    const requestId = out.headers?.["x-request-id"] ?? out.multiValueHeaders?.["x-request-id"];
    expect(String(requestId)).toContain("gw-request-id-1");
  });

  it("routes POST with a JSON body, and a base64-encoded body", async () => {
    const { token } = await makeUser();
    const auth = { authorization: `Bearer ${token}`, "content-type": "application/json" };
    const plain = await handler(
      restEvent("POST", "/api/v1/jobs", { headers: auth, body: JSON.stringify({ name: "plain" }) }),
      {} as never,
    );
    expect(plain.statusCode).toBe(201);
    expect(json(plain).name).toBe("plain");

    const encoded = Buffer.from(JSON.stringify({ name: "encoded ✓" })).toString("base64");
    const b64 = await handler(
      restEvent("POST", "/api/v1/jobs", { headers: auth, body: encoded, base64: true }),
      {} as never,
    );
    expect(b64.statusCode).toBe(201);
    expect(json(b64).name).toBe("encoded ✓");
    // As the gateway passes bytes that are not UTF-8: refused, not stored as U+FFFD.
    const latin1 = Buffer.from('{"name":"caf\xe9"}', "latin1").toString("base64");
    const bad = await handler(
      restEvent("POST", "/api/v1/jobs", { headers: auth, body: latin1, base64: true }),
      {} as never,
    );
    expect(bad.statusCode).toBe(400);
    expect(json(bad).error.message).toMatch(/UTF-8/);

    const runs = await handler(
      restEvent("POST", "/api/v1/runs", {
        headers: auth,
        body: JSON.stringify({ runs: [runRequest(json(plain).id)] }),
      }),
      {} as never,
    );
    expect(runs.statusCode).toBe(201);
  });

  // The gateway may pass no Content-Length; hono's adapter sets it from the decoded body.
  it("sizes bodies the gateway sent without Content-Length: over the limit is 413, base64 counts decoded", async () => {
    const { token } = await makeUser();
    const auth = { authorization: `Bearer ${token}`, "content-type": "application/json" };
    const tooBig = JSON.stringify({ name: "x", description: "y".repeat(MAX_BODY_BYTES) });
    const refused = await handler(
      restEvent("POST", "/api/v1/jobs", { headers: auth, body: tooBig }),
      {} as never,
    );
    expect(refused.statusCode).toBe(413);
    expect(json(refused).error.code).toBe("payload_too_large");

    // 90% of the limit as JSON is 120% of it as base64: the limit applies to the decoded body.
    const pad = "z".repeat(Math.floor(MAX_BODY_BYTES * 0.9));
    const padded = JSON.stringify({ name: "padded", metadata: { pad } });
    const encoded = Buffer.from(padded).toString("base64");
    expect(encoded.length).toBeGreaterThan(MAX_BODY_BYTES);
    const accepted = await handler(
      restEvent("POST", "/api/v1/jobs", { headers: auth, body: encoded, base64: true }),
      {} as never,
    );
    // Past the size limit, so validation speaks: job metadata is capped at 16 KiB.
    expect(accepted.statusCode).toBe(400);
    expect(json(accepted).error.code).toBe("invalid");
  });

  it("reads multi-value query strings and headers (the epx client's Offline-Token)", async () => {
    const { token } = await makeUser();
    const headers = { "Offline-Token": `Bearer ${token}`, "Content-Type": "application/json" };
    const job = json(
      await handler(
        restEvent("POST", "/jobs/register", { headers, body: '{"tags":["info_job"]}' }),
        {} as never,
      ),
    );
    const listed = await handler(
      restEvent("GET", "/runs", { headers, query: { job_id: [String(job.id)] } }),
      {} as never,
    );
    expect(listed.statusCode).toBe(200);
    expect(json(listed)).toEqual({ runs: [] });

    const page = await handler(
      restEvent("GET", "/api/v1/jobs", {
        headers,
        query: { limit: ["1"], cursor: [String(job.id + 1)] },
      }),
      {} as never,
    );
    expect(json(page).jobs.map((j: { id: number }) => j.id)).toEqual([job.id]);
  });

  it("gzips a long run list for clients that accept it, base64-encoded for the gateway", async () => {
    const { headers, jobId } = await epxJob();
    const runs = Array.from({ length: 200 }, () => runRequest(jobId));
    await handler(
      restEvent("POST", "/runs", { headers, body: JSON.stringify({ runRequests: runs }) }),
      {} as never,
    );
    const query = { job_id: [String(jobId)] };
    const plain = await handler(restEvent("GET", "/runs", { headers, query }), {} as never);
    expect(plain.isBase64Encoded).toBe(false);
    const gzipped = await handler(
      restEvent("GET", "/runs", {
        headers: { ...headers, "accept-encoding": "gzip, deflate" },
        query,
      }),
      {} as never,
    );
    expect(gzipped.statusCode).toBe(200);
    expect(gzipped.isBase64Encoded).toBe(true);
    const bytes = Buffer.from(gzipped.body, "base64");
    expect(bytes.length).toBeLessThan(plain.body.length / 10);
    expect(JSON.parse(gunzipSync(bytes).toString())).toEqual(JSON.parse(plain.body));
    expect(JSON.parse(plain.body).runs).toHaveLength(200);
  });

  it("lists a job of several cursor pages whole, gzipped or not; a short list goes plain", async () => {
    const { token } = await makeUser();
    const headers = { "Offline-Token": `Bearer ${token}`, "content-type": "application/json" };
    const register = () =>
      handler(restEvent("POST", "/jobs/register", { headers, body: '{"tags":[]}' }), {} as never);
    const jobId = json(await register()).id;
    const ids: number[] = [];
    for (const n of [1000, 1000, 345]) {
      const runs = Array.from({ length: n }, (_, i) =>
        runRequest(jobId, { workingDir: `/w/${ids.length + i}` }),
      );
      const stored = await handler(
        restEvent("POST", "/runs", { headers, body: JSON.stringify({ runRequests: runs }) }),
        {} as never,
      );
      ids.push(...json(stored).runResponses.map((r: { runId: number }) => r.runId));
    }
    expect(ids.length).toBeGreaterThan(Run.ALL_PAGE);
    const list = (extra: Record<string, string>, job = jobId) =>
      epxGet("/runs", headers, job, extra);

    const plain = await list({});
    expect(plain.isBase64Encoded).toBe(false);
    const runs = JSON.parse(plain.body).runs as { id: number; request: { workingDir: string } }[];
    expect(runs.map((r) => r.id)).toEqual(ids);
    expect(runs.map((r) => r.request.workingDir)).toEqual(ids.map((_, i) => `/w/${i}`));

    const gzipped = await list({ "accept-encoding": "gzip, deflate" });
    expect(header(gzipped, "content-encoding")).toBe("gzip");
    expect(header(gzipped, "vary")).toMatch(/\bAccept-Encoding\b/);
    const bytes = Buffer.from(gzipped.body, "base64");
    expect(gunzipSync(bytes).toString()).toBe(plain.body);
    // Not accepted (q=0): plain. Deflate when only that is accepted; gzip for `*`.
    expect((await list({ "accept-encoding": "gzip;q=0" })).body).toBe(plain.body);
    const deflated = await list({ "accept-encoding": "deflate, gzip;q=0.5" });
    expect(header(deflated, "content-encoding")).toBe("deflate");
    expect(inflateSync(Buffer.from(deflated.body, "base64")).toString()).toBe(plain.body);
    expect(header(await list({ "accept-encoding": "*" }), "content-encoding")).toBe("gzip");

    const short = json(await register()).id;
    await handler(
      restEvent("POST", "/runs", {
        headers,
        body: JSON.stringify({ runRequests: [runRequest(short)] }),
      }),
      {} as never,
    );
    const small = await list({ "accept-encoding": "gzip" }, short);
    expect(small.isBase64Encoded).toBe(false);
    expect(header(small, "content-encoding")).toBeUndefined();
    expect(header(small, "content-type")).toBe("application/json");
    expect(JSON.parse(small.body).runs).toHaveLength(1);
  });

  it("compresses a long page of a job's runs for a client that accepts it, not a short one", async () => {
    const { token } = await makeUser();
    const auth = { authorization: `Bearer ${token}`, "content-type": "application/json" };
    const created = await handler(
      restEvent("POST", "/api/v1/jobs", { headers: auth, body: '{"name":"paged"}' }),
      {} as never,
    );
    const jobId = json(created).id as number;
    const runs = Array.from({ length: 200 }, () => runRequest(jobId));
    await handler(
      restEvent("POST", "/api/v1/runs", { headers: auth, body: JSON.stringify({ runs }) }),
      {} as never,
    );
    const page = (limit: number, extra: Record<string, string> = {}) =>
      handler(
        restEvent("GET", `/api/v1/jobs/${jobId}/runs`, {
          headers: { ...auth, ...extra },
          query: { limit: [String(limit)] },
        }),
        {} as never,
      );

    const plain = await page(200);
    expect(plain.isBase64Encoded).toBe(false);
    expect(JSON.parse(plain.body).runs).toHaveLength(200);
    expect(header(plain, "vary")).toMatch(/\bAccept-Encoding\b/);
    const gzipped = await page(200, { "accept-encoding": "gzip, deflate" });
    expect(header(gzipped, "content-encoding")).toBe("gzip");
    expect(header(gzipped, "vary")).toMatch(/\bAccept-Encoding\b/);
    const bytes = Buffer.from(gzipped.body, "base64");
    expect(bytes.length).toBeLessThan(plain.body.length / 5);
    expect(gunzipSync(bytes).toString()).toBe(plain.body);
    const deflated = await page(200, { "accept-encoding": "deflate" });
    expect(inflateSync(Buffer.from(deflated.body, "base64")).toString()).toBe(plain.body);
    // A HEAD has no body to compress.
    const head = await handler(
      restEvent("HEAD", `/api/v1/jobs/${jobId}/runs`, {
        headers: { ...auth, "accept-encoding": "gzip" },
        query: { limit: ["200"] },
      }),
      {} as never,
    );
    expect(head.statusCode).toBe(200);
    expect(header(head, "content-encoding")).toBeUndefined();
    // Under 8 KiB: not worth compressing.
    const short = await page(2, { "accept-encoding": "gzip" });
    expect(short.isBase64Encoded).toBe(false);
    expect(header(short, "content-encoding")).toBeUndefined();
    expect(JSON.parse(short.body).runs).toHaveLength(2);
  });

  it("gzips a job's result URLs, written a page of presigned URLs at a time", async () => {
    const { headers, jobId } = await epxJob();
    const ids: number[] = [];
    for (let i = 0; i < 2; i++) {
      const runs = Array.from({ length: 750 }, () => runRequest(jobId));
      const stored = await handler(
        restEvent("POST", "/runs", { headers, body: JSON.stringify({ runRequests: runs }) }),
        {} as never,
      );
      ids.push(...json(stored).runResponses.map((r: { runId: number }) => r.runId));
    }
    // Every other run has its results uploaded (as the runner's PATCH records them).
    const done = ids.filter((_, i) => i % 2 === 0);
    await sql()`
      update run set results_key = 'jobs/' || job_id || '/run_' || id || '_results.zip',
                     results_uploaded_at = now()
      where id in ${sql()(done)}`;
    const results = (extra: Record<string, string>) =>
      epxGet("/jobs/results", headers, jobId, extra);
    type Urls = { urls: { run_id: number; url: string }[] };
    const where = ({ urls }: Urls) => urls.map((u) => [u.run_id, new URL(u.url).pathname]);
    const expected = done.map((id) => [id, expect.stringMatching(`/run_${id}_results.zip$`)]);

    const plain = await results({});
    expect(plain.isBase64Encoded).toBe(false);
    expect(where(json(plain))).toEqual(expected);
    const gzipped = await results({ "accept-encoding": "gzip, deflate" });
    expect(header(gzipped, "content-encoding")).toBe("gzip");
    const bytes = Buffer.from(gzipped.body, "base64");
    const unzipped = JSON.parse(gunzipSync(bytes).toString()) as Urls;
    expect(where(unzipped)).toEqual(expected);
    expect(bytes.length).toBeLessThan(plain.body.length / 3);
  });

  it("refuses a list over 5 MiB uncompressed with a 406 that says to accept gzip", async () => {
    const { headers, jobId } = await epxJob();
    // 5,000 runs of ~1.2 KB each: ~6 MB of JSON, more than Lambda can return uncompressed.
    const request = runRequest(jobId, { workingDir: `/w/${"x".repeat(1000)}` });
    await sql()`
      insert into run (job_id, user_id, request)
      select id, user_id, ${JSON.stringify(request)}::json from job, generate_series(1, 5000)
      where id = ${jobId}`;
    const list = (extra: Record<string, string>) => epxGet("/runs", headers, jobId, extra);
    const refused = await list({});
    expect(refused.statusCode).toBe(406);
    expect(json(refused).error).toMatchObject({
      code: "not_acceptable",
      message: expect.stringContaining("Accept-Encoding: gzip"),
    });
    const gzipped = await list({ "accept-encoding": "gzip" });
    expect(gzipped.statusCode).toBe(200);
    const runs = JSON.parse(gunzipSync(Buffer.from(gzipped.body, "base64")).toString()).runs;
    expect(runs).toHaveLength(5000);
  });

  it("the largest batch the limits allow fits Lambda's 6 MB, as its event and as its answer", async () => {
    const LAMBDA_LIMIT = 6 * 1024 * 1024;
    const { headers, jobId } = await epxJob();
    const { token } = await makeUser("Batcher");
    const v1Job = json(
      await handler(
        restEvent("POST", "/api/v1/jobs", {
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          body: '{"name":"big"}',
        }),
        {} as never,
      ),
    ).id as number;
    // Run.LIMITS.batch runs, each padded so that the body is within a few bytes of the limit.
    // Each run padded so that the body is within a few bytes of the limit: with plain
    // letters, and with quotes, which JSON escapes (2 bytes in the body, 4 in the Lambda
    // result, where the answer that echoes them is itself a JSON string).
    const body = (key: string, job: number, pad: string) => {
      const runs = (workingDir: string) =>
        JSON.stringify({
          [key]: Array.from({ length: Run.LIMITS.batch }, () => runRequest(job, { workingDir })),
        });
      const each = JSON.stringify(pad).length - 2;
      const n = Math.floor((MAX_BODY_BYTES - runs("/").length) / Run.LIMITS.batch / each);
      const text = runs(`/${pad.repeat(n)}`);
      expect(Buffer.byteLength(text)).toBeLessThanOrEqual(MAX_BODY_BYTES);
      expect(Buffer.byteLength(text)).toBeGreaterThan(MAX_BODY_BYTES - 2 * Run.LIMITS.batch);
      return Buffer.from(text).toString("base64"); // as the REST API passes it (binaryMediaTypes */*)
    };
    const v1Headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
    const cases = ["x", '"'].flatMap((pad) => [
      { path: "/runs", headers, body: body("runRequests", jobId, pad), status: 200 },
      { path: "/api/v1/runs", headers: v1Headers, body: body("runs", v1Job, pad), status: 201 },
    ]);
    for (const c of cases) {
      const event = restEvent("POST", c.path, { headers: c.headers, body: c.body, base64: true });
      expect(Buffer.byteLength(JSON.stringify(event)), c.path).toBeLessThan(LAMBDA_LIMIT);
      const res = await handler(event, {} as never);
      expect(res.statusCode, `${c.path}: ${res.body.slice(0, 200)}`).toBe(c.status);
      // Uncompressed (no Accept-Encoding): the largest it can be.
      expect(Buffer.byteLength(JSON.stringify(res)), c.path).toBeLessThan(LAMBDA_LIMIT);
      const stored = json(res);
      expect((stored.runResponses ?? stored.runs).length).toBe(Run.LIMITS.batch);
    }
  });

  it("counts a list as Lambda returns it: quotes escaped once more are over the limit too", async () => {
    const { headers, jobId } = await epxJob();
    // 3,000 runs of ~1.5 KB of JSON, 600 quotes each: ~4.5 MB as JSON (under 5 MiB), about
    // twice that as the string in Lambda's result, which could not return it.
    const request = runRequest(jobId, { workingDir: `/${'"'.repeat(600)}` });
    await sql()`
      insert into run (job_id, user_id, request)
      select id, user_id, ${JSON.stringify(request)}::json from job, generate_series(1, 3000)
      where id = ${jobId}`;
    const refused = await epxGet("/runs", headers, jobId);
    expect(refused.statusCode).toBe(406);
    const gzipped = await epxGet("/runs", headers, jobId, { "accept-encoding": "gzip" });
    expect(gzipped.statusCode).toBe(200);
    expect(Buffer.byteLength(JSON.stringify(gzipped))).toBeLessThan(6 * 1024 * 1024);
  });

  it("routes on the proxy path under a custom domain's base path", async () => {
    const res = await handler(restEvent("GET", "/health", { basePath: "/fred" }), {} as never);
    expect(res.statusCode).toBe(200);
    const missing = await handler(restEvent("GET", "/nowhere", { basePath: "/fred" }), {} as never);
    expect(missing.statusCode).toBe(404);
    expect(json(missing).error.code).toBe("not_found");
  });

  it("answers 404 JSON for unknown paths and 401 JSON without a token", async () => {
    const missing = await handler(restEvent("GET", "/api/v2/nothing"), {} as never);
    expect(missing.statusCode).toBe(404);
    const noToken = await handler(restEvent("GET", "/api/v1/jobs"), {} as never);
    expect(noToken.statusCode).toBe(401);
    expect(json(noToken).error.code).toBe("unauthorized");
  });
});
