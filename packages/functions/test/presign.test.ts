/** Presigned URLs against a server that checks SigV4, as S3 does. */
import { describe, expect, it } from "vitest";
import { call, makeUser, runRequest } from "./helpers";

async function setup() {
  const { token } = await makeUser();
  const job = (await call("POST", "/api/v1/jobs", { token, body: { name: "p" } })).json;
  const run = (await call("POST", "/api/v1/runs", { token, body: runRequest(job.id) })).json;
  return { token, job, run };
}

describe("presigned upload URLs", () => {
  it("store exactly the bytes sent, at the key they name, and expire in 15 minutes", async () => {
    const { token, run } = await setup();
    const before = Date.now();
    const res = await call("GET", `/api/v1/runs/${run.id}/upload-url?type=config`, { token });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({
      method: "PUT",
      headers: {},
      key: expect.stringMatching(/run_\d+_config\.json$/),
    });
    const ttl = Date.parse(res.json.expiresAt) - before;
    expect(ttl).toBeGreaterThan(14 * 60_000);
    expect(ttl).toBeLessThanOrEqual(15 * 60_000 + 1000);
    const url = new URL(res.json.url);
    expect(url.pathname.endsWith(res.json.key)).toBe(true);
    expect(url.searchParams.get("X-Amz-Expires")).toBe("900");
    // No checksum of an empty body is signed into the URL.
    expect(url.search).not.toMatch(/checksum/i);

    const body = JSON.stringify({ seed: 42 });
    expect((await fetch(res.json.url, { method: "PUT", body })).status).toBe(200);
    const { presignGet } = await import("../../core/src/upload/s3");
    const back = await fetch((await presignGet(res.json.key)).url);
    expect(await back.text()).toBe(body);
  });

  it("are refused by S3 when the signature is tampered with or the key changed", async () => {
    const { token, run } = await setup();
    const res = await call("GET", `/api/v1/runs/${run.id}/upload-url?type=input`, { token });
    const url = new URL(res.json.url);

    const tampered = new URL(url);
    const sig = tampered.searchParams.get("X-Amz-Signature")!;
    tampered.searchParams.set("X-Amz-Signature", (sig[0] === "a" ? "b" : "a") + sig.slice(1));
    expect((await fetch(tampered, { method: "PUT", body: "x" })).status).toBe(403);

    const otherKey = new URL(url);
    otherKey.pathname = otherKey.pathname.replace(/run_\d+_input\.zip$/, "someone_else.zip");
    expect((await fetch(otherKey, { method: "PUT", body: "x" })).status).toBe(403);

    const asGet = await fetch(url, { method: "GET" });
    expect(asGet.status).toBe(403);
  });

  it("bind the content type only when one is named, and say so in headers", async () => {
    const { token, run } = await setup();
    const res = await call(
      "GET",
      `/api/v1/runs/${run.id}/upload-url?type=input&contentType=application/zip`,
      { token },
    );
    expect(res.json.headers).toEqual({ "content-type": "application/zip" });
    const wrong = await fetch(res.json.url, {
      method: "PUT",
      body: "x",
      headers: { "content-type": "text/plain" },
    });
    expect(wrong.status).toBe(403);
    const right = await fetch(res.json.url, {
      method: "PUT",
      body: "x",
      headers: res.json.headers,
    });
    expect(right.status).toBe(200);
  });

  it("are refused once expired", async () => {
    const { token, run } = await setup();
    process.env.PRESIGN_TTL_SECONDS = "1";
    try {
      const res = await call("GET", `/api/v1/runs/${run.id}/upload-url?type=logs`, { token });
      expect(new URL(res.json.url).searchParams.get("X-Amz-Expires")).toBe("1");
      await new Promise((r) => setTimeout(r, 2100));
      expect((await fetch(res.json.url, { method: "PUT", body: "late" })).status).toBe(403);
    } finally {
      delete process.env.PRESIGN_TTL_SECONDS;
    }
  });

  it("are recorded, one row per URL issued, and a bad type or content type is a 400", async () => {
    const { token, job, run } = await setup();
    await call("GET", `/api/v1/runs/${run.id}/upload-url?type=config`, { token });
    await call("GET", `/api/v1/runs/${run.id}/upload-url?type=results`, { token });
    const detail = await call("GET", `/api/v1/runs/${run.id}`, { token });
    expect(
      detail.json.uploads.map((u: { type: string; runId: number }) => [u.type, u.runId]),
    ).toEqual([
      ["config", run.id],
      ["results", run.id],
    ]);
    // The job lists its own uploads only: a job of 100,000 runs must not list theirs.
    expect((await call("GET", `/api/v1/jobs/${job.id}`, { token })).json.uploads).toEqual([]);
    for (const q of [
      "type=../../etc",
      "type=INPUT",
      "type=input&contentType=not a type",
      "type=input&contentType=a/b%0d%0ax:y",
    ]) {
      const bad = await call("GET", `/api/v1/runs/${run.id}/upload-url?${q}`, { token });
      expect(bad.status, q).toBe(400);
    }
  });

  it("a completed or cancelled job takes no more uploads of its own; its runs' still go", async () => {
    for (const path of [["submitted", "processing", "completed"], ["cancelled"]]) {
      const { token, job, run } = await setup();
      for (const status of path) {
        const moved = await call("PATCH", `/api/v1/jobs/${job.id}`, { token, body: { status } });
        expect(moved.status).toBe(200);
      }
      const epx = { token, offline: true };
      const input = await call("POST", "/jobs", {
        ...epx,
        body: { jobId: job.id, context: "job", type: "input" },
      });
      expect(input.status).toBe(409);
      expect(input.json.error.message).toContain(path.at(-1));
      const results = await call("GET", `/api/v1/runs/${run.id}/upload-url?type=results`, {
        token,
      });
      expect(results.status).toBe(200);
      const uploads = (await call("GET", `/api/v1/jobs/${job.id}`, { token })).json.uploads;
      expect(uploads).toEqual([]);
    }
  });
});
