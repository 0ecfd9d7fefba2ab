/** Every /api/v1 route, the shared error contract, CORS, docs and health. */
import { readFile } from "node:fs/promises";
import { Run } from "@fred/core/run";
import { describe, expect, it } from "vitest";
import { app, createApp, SCALAR_BUNDLE } from "../src/api/app";
import { MAX_BODY_BYTES } from "../src/api/middleware/body";
import { call, makeUser, runRequest } from "./helpers";

describe("health", () => {
  it("is healthy with a live database, without auth", async () => {
    const res = await call("GET", "/health");
    expect(res.status).toBe(200);
    expect(res.json).toEqual({
      status: "healthy",
      service: "fred-platform",
      version: expect.any(String),
      timestamp: expect.any(String),
      checks: { database: "ok" },
    });
  });
});

describe("registration", () => {
  it("shows the caller, the token in use (never its secret) and the API version", async () => {
    const { user, token } = await makeUser();
    const res = await call("GET", "/api/v1/registration", { token });
    expect(res.status).toBe(200);
    expect(res.json.user).toMatchObject({ id: user.id, name: user.name, email: user.email });
    expect(res.json.token).toMatchObject({
      prefix: token.slice(0, 12),
      label: null,
      expiresAt: null,
    });
    expect(res.json.api).toMatchObject({ version: "v1" });
    // Its first request counts as a use.
    expect(Date.now() - Date.parse(res.json.token.lastUsedAt)).toBeLessThan(60_000);
    expect(res.text).not.toContain(token);
    expect(res.headers.get("cache-control")).toBe("no-store");
  });
});

describe("jobs", () => {
  it("creates, pages through, reads and transitions jobs", async () => {
    const { user, token } = await makeUser();
    const created = await call("POST", "/api/v1/jobs", {
      token,
      body: { name: "measles", description: "d", tags: ["a"], metadata: { r0: 12 } },
    });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({
      userId: user.id,
      name: "measles",
      status: "created",
      tags: ["a"],
    });
    for (let i = 0; i < 3; i++) await call("POST", "/api/v1/jobs", { token, body: {} });

    const page1 = await call("GET", "/api/v1/jobs?limit=3", { token });
    expect(page1.json.jobs).toHaveLength(3);
    const page2 = await call("GET", `/api/v1/jobs?limit=3&cursor=${page1.json.nextCursor}`, {
      token,
    });
    expect(page2.json).toEqual({
      jobs: [expect.objectContaining({ name: "measles" })],
      nextCursor: null,
    });

    const detail = await call("GET", `/api/v1/jobs/${created.json.id}`, { token });
    expect(detail.json).toMatchObject({ id: created.json.id, uploads: [], runCounts: {} });

    const moved = await call("PATCH", `/api/v1/jobs/${created.json.id}`, {
      token,
      body: { status: "cancelled" },
    });
    expect(moved.json.status).toBe("cancelled");
    const illegal = await call("PATCH", `/api/v1/jobs/${created.json.id}`, {
      token,
      body: { status: "processing" },
    });
    expect(illegal.status).toBe(409);
    expect(illegal.json.error).toMatchObject({
      code: "conflict",
      details: { from: "cancelled", to: "processing" },
    });
  });
});

describe("runs", () => {
  it("submits one run or a batch, reads it, pages a job's runs and counts them", async () => {
    const { token } = await makeUser();
    const job = (await call("POST", "/api/v1/jobs", { token, body: {} })).json;
    const one = await call("POST", "/api/v1/runs", { token, body: runRequest(job.id) });
    expect(one.status).toBe(201);
    expect(one.json).toMatchObject({
      jobId: job.id,
      status: "Submitted",
      request: runRequest(job.id),
    });

    const batch = await call("POST", "/api/v1/runs", {
      token,
      body: {
        runs: Array.from({ length: 4 }, (_, i) => runRequest(job.id, { workingDir: `/w/${i}` })),
      },
    });
    expect(batch.status).toBe(201);
    expect(batch.json.runs).toHaveLength(4);

    const got = await call("GET", `/api/v1/runs/${one.json.id}`, { token });
    expect(got.json).toEqual({ ...one.json, uploads: [] });

    const p1 = await call("GET", `/api/v1/jobs/${job.id}/runs?limit=2`, { token });
    const p2 = await call(
      "GET",
      `/api/v1/jobs/${job.id}/runs?limit=2&cursor=${p1.json.nextCursor}`,
      { token },
    );
    const p3 = await call(
      "GET",
      `/api/v1/jobs/${job.id}/runs?limit=2&cursor=${p2.json.nextCursor}`,
      { token },
    );
    const ids = [...p1.json.runs, ...p2.json.runs, ...p3.json.runs].map(
      (r: { id: number }) => r.id,
    );
    expect(ids).toEqual([one.json.id, ...batch.json.runs.map((r: { id: number }) => r.id)]);
    expect(p3.json.nextCursor).toBeNull();

    await call("PATCH", `/api/v1/runs/${one.json.id}`, {
      token,
      body: { status: "RUNNING", podPhase: "Running" },
    });
    const detail = await call("GET", `/api/v1/jobs/${job.id}`, { token });
    expect(detail.json.runCounts).toEqual({ Submitted: 4, RUNNING: 1 });
  });

  it("a batch one run over the limit, or one bad run in a batch, stores nothing", async () => {
    const { token } = await makeUser();
    const job = (await call("POST", "/api/v1/jobs", { token, body: {} })).json;
    const tooMany = await call("POST", "/api/v1/runs", {
      token,
      body: { runs: Array.from({ length: Run.LIMITS.batch + 1 }, () => runRequest(job.id)) },
    });
    expect(tooMany.status).toBe(400);
    const oneBad = await call("POST", "/api/v1/runs", {
      token,
      body: { runs: [runRequest(job.id), runRequest(job.id, { population: { version: 5 } })] },
    });
    expect(oneBad.status).toBe(400);
    const listed = await call("GET", `/api/v1/jobs/${job.id}/runs`, { token });
    expect(listed.json.runs).toEqual([]);
  });
});

describe("the error contract", () => {
  it("unknown routes are 404 JSON; a known path with the wrong method is 405 with Allow", async () => {
    const missing = await call("GET", "/nope/nothing");
    expect(missing.status).toBe(404);
    expect(missing.json.error.code).toBe("not_found");

    const wrong = await call("DELETE", "/api/v1/jobs");
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get("allow")).toContain("POST");
    expect(wrong.headers.get("allow")).toContain("GET");
    expect(wrong.json.error.code).toBe("method_not_allowed");

    const wrongParam = await call("PUT", "/api/v1/runs/12");
    expect(wrongParam.status).toBe(405);
    expect(wrongParam.headers.get("allow")).toContain("PATCH");
  });

  it("body problems: 400 broken JSON, 413 over the limit, 415 not JSON", async () => {
    const { token } = await makeUser();
    const broken = await call("POST", "/api/v1/jobs", {
      token,
      raw: '{"name": ',
      headers: { "content-type": "application/json" },
    });
    expect(broken.status).toBe(400);
    expect(broken.json.error.code).toBe("invalid");

    const huge = await call("POST", "/api/v1/jobs", {
      token,
      raw: JSON.stringify({ name: "x", metadata: { pad: "x".repeat(MAX_BODY_BYTES) } }),
      headers: { "content-type": "application/json" },
    });
    expect(huge.status).toBe(413);
    expect(huge.json.error.code).toBe("payload_too_large");

    const form = await call("POST", "/api/v1/jobs", {
      token,
      raw: "name=x",
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expect(form.status).toBe(415);

    // No body, but said to be something else: the route's own media-type check.
    const typed = await call("POST", "/api/v1/jobs", {
      token,
      headers: { "content-type": "text/plain" },
    });
    expect(typed.status).toBe(415);
    expect(typed.json.error).toEqual({
      code: "unsupported_media_type",
      message: "Send the body as application/json.",
    });
  });

  it("every response carries a request id; an API Gateway one is kept", async () => {
    const res = await call("GET", "/health", { headers: { "x-request-id": "abc-123" } });
    expect(res.headers.get("x-request-id")).toBe("abc-123");
    const generated = await call("GET", "/health", { headers: { "x-request-id": "bad id\n" } });
    expect(generated.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("does not fingerprint the framework", async () => {
    const res = await call("GET", "/health");
    expect(res.headers.get("x-powered-by")).toBeNull();
    expect(res.headers.get("server")).toBeNull();
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
  });
});

describe("CORS", () => {
  it("answers preflight for allowed origins only", async () => {
    const preflight = (origin: string) =>
      app.request("/api/v1/jobs", {
        method: "OPTIONS",
        headers: {
          origin,
          "access-control-request-method": "POST",
          "access-control-request-headers": "authorization,content-type",
        },
      });
    const ok = await preflight("https://app.example.org");
    expect(ok.status).toBe(204);
    expect(ok.headers.get("access-control-allow-origin")).toBe("https://app.example.org");
    expect(ok.headers.get("access-control-allow-headers")?.toLowerCase()).toContain(
      "authorization",
    );
    const evil = await preflight("https://evil.example.com");
    expect(evil.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("tags simple responses for allowed origins only", async () => {
    const ok = await call("GET", "/health", { headers: { origin: "https://app.example.org" } });
    expect(ok.headers.get("access-control-allow-origin")).toBe("https://app.example.org");
    const evil = await call("GET", "/health", { headers: { origin: "https://evil.example.com" } });
    expect(evil.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("allows any origin with ALLOWED_ORIGINS=* (a dev stage's setting)", async () => {
    const configured = process.env.ALLOWED_ORIGINS;
    process.env.ALLOWED_ORIGINS = "*";
    const open = createApp();
    process.env.ALLOWED_ORIGINS = configured;
    const origin = "http://localhost:3000";
    const simple = await open.request("/health", { headers: { origin } });
    expect(simple.headers.get("access-control-allow-origin")).toBe(origin);
    expect(simple.headers.get("vary")).toMatch(/\bOrigin\b/);
    const preflight = await open.request("/api/v1/jobs", {
      method: "OPTIONS",
      headers: { origin, "access-control-request-method": "POST" },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe(origin);
  });
});

describe("docs", () => {
  it("every route declares only what the router validates: query, path, headers, a JSON body", () => {
    for (const definition of app.definitions) {
      const { request, method, path } = definition();
      const parts = Object.keys(request ?? {}).filter((k) => k !== "body");
      expect(
        parts.every((k) => ["query", "params", "headers"].includes(k)),
        `${method} ${path}`,
      ).toBe(true);
      expect(Object.keys(request?.body?.content ?? {}), `${method} ${path}`).toEqual(
        request?.body ? ["application/json"] : [],
      );
    }
  });

  it("serves the OpenAPI 3.1 document the routes generate, and a reference page", async () => {
    const doc = await call("GET", "/openapi.json");
    expect(doc.status).toBe(200);
    expect(doc.json.openapi).toBe("3.1.0");
    const paths = Object.keys(doc.json.paths);
    for (const p of [
      "/health",
      "/api/v1/registration",
      "/api/v1/jobs",
      "/api/v1/jobs/{job_id}",
      "/api/v1/jobs/{job_id}/runs",
      "/api/v1/runs",
      "/api/v1/runs/{run_id}",
      "/api/v1/runs/{run_id}/upload-url",
      "/api/v1/admin/users",
      "/jobs/register",
      "/jobs",
      "/runs",
      "/jobs/results",
    ]) {
      expect(paths, p).toContain(p);
    }
    expect(doc.json.components.securitySchemes).toHaveProperty("offlineToken");
    // Served from the committed openapi.json, which must be what the routes generate today.
    // Imported here, not at the top: @hono/zod-openapi extends zod, which the Lambda never does.
    const { OPENAPI_FILE, renderOpenApi } = await import("../src/api/openapi");
    const committed = await readFile(OPENAPI_FILE, "utf8");
    expect(committed, `${OPENAPI_FILE} is stale: run \`pnpm openapi\` and commit it`).toBe(
      renderOpenApi(app.definitions),
    );
    expect(doc.json).toEqual(JSON.parse(committed));
    const page = await app.request("/docs");
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toContain("text/html");
    const html = await page.text();
    expect(html).toContain("openapi.json");
    // The renderer it loads is the pinned one, and only that.
    expect(html.match(/https:\/\/[^'"\s]+/g)).toEqual([SCALAR_BUNDLE]);
  });
});
