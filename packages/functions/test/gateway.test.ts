/**
 * Our API Gateway adapter (src/api/gateway/) against hono's own (`hono/aws-lambda`, run
 * with Node's own Response): the same events must get the same answers. Then what the
 * adapter's lightweight Request and Response promise to code that reads them as the real
 * ones.
 */
import { inspect } from "node:util";
import { gunzipSync } from "node:zlib";
import { Hono } from "hono";
import { describe, expect, it, vi } from "vitest";
import { routedPath } from "../src/api";
import { app } from "../src/api/app";
import { handle, type RestEvent, type RestResult } from "../src/api/gateway";
import { EventHeaders } from "../src/api/gateway/event-headers";
import { EventRequest } from "../src/api/gateway/event-request";
import { EventResponse } from "../src/api/gateway/event-response";
import {
  fetchClasses,
  installedFetchClasses,
  installFetchClasses,
} from "../src/api/gateway/fetch-classes";
import { MAX_BODY_BYTES } from "../src/api/middleware/body";
import { corsFromAllowList } from "../src/api/middleware/cors";
import { requestContext } from "../src/api/middleware/request";
import { makeUser, runRequest } from "./helpers";
import { honoAdapter, NativeResponse } from "./hono-adapter";
import { restEvent } from "./rest-event";

const ours = handle(app);
const honoAnswer = honoAdapter(app);

const ourAnswer = (event: RestEvent) => ours({ ...event, path: routedPath(event) });

/** The body as the client gets it once the gateway has decoded it. */
function decoded(result: RestResult): string {
  if (!result.isBase64Encoded) return result.body;
  const bytes = Buffer.from(result.body, "base64");
  return result.multiValueHeaders["content-encoding"]?.[0] === "gzip"
    ? gunzipSync(bytes).toString()
    : bytes.toString();
}

/** An event through both adapters: the same status and headers. [ours, hono's] */
async function bothAnswers(event: RestEvent): Promise<[RestResult, RestResult]> {
  const expected = await honoAnswer(event);
  const actual = await ourAnswer(event);
  expect(actual.statusCode).toBe(expected.statusCode);
  expect(actual.multiValueHeaders).toEqual(expected.multiValueHeaders);
  return [actual, expected];
}

/** A write through both adapters: the same status and headers, the created rows' fields. */
async function sameAnswerOfWrite(event: RestEvent) {
  const [actual, expected] = await bothAnswers(event);
  expect(actual.statusCode).toBe(201);
  const [a, e] = [JSON.parse(actual.body), JSON.parse(expected.body)];
  expect(Object.keys(a).sort()).toEqual(Object.keys(e).sort());
  expect(a.name).toBe(e.name);
  expect(a.id).not.toBe(e.id);
  return a;
}

async function sameAnswer(event: RestEvent) {
  const [actual, expected] = await bothAnswers(event);
  expect(actual.isBase64Encoded).toBe(expected.isBase64Encoded);
  // The health check's clock is the one field that differs between two answers.
  const untimed = (r: RestResult) => decoded(r).replace(/"timestamp":"[^"]*"/, "");
  expect(untimed(actual)).toBe(untimed(expected));
  return actual;
}

describe("the API Gateway adapter answers as hono's does", () => {
  it("for reads: health, HEAD, a job, an epx list gzipped and not, query strings, CORS", async () => {
    const { token } = await makeUser();
    const auth = { authorization: `Bearer ${token}`, "content-type": "application/json" };
    const created = await ourAnswer(
      restEvent("POST", "/api/v1/jobs", { headers: auth, body: '{"name":"same"}' }),
    );
    const jobId = JSON.parse(created.body).id as number;
    const runs = Array.from({ length: 200 }, (_, i) =>
      runRequest(jobId, { workingDir: `/home/epx/work/${i}` }),
    );
    const submitted = await ourAnswer(
      restEvent("POST", "/api/v1/runs", { headers: auth, body: JSON.stringify({ runs }) }),
    );
    expect(submitted.statusCode).toBe(201);

    await sameAnswer(restEvent("GET", "/health"));
    await sameAnswer(restEvent("HEAD", "/health"));
    await sameAnswer(restEvent("GET", `/api/v1/jobs/${jobId}`, { headers: auth }));
    await sameAnswer(
      restEvent("GET", `/api/v1/jobs/${jobId}/runs`, {
        headers: auth,
        query: { limit: ["2"], cursor: ["0"] },
      }),
    );
    const epx = { "Offline-Token": `Bearer ${token}` };
    const query = { job_id: [String(jobId)] };
    const zipped = await sameAnswer(
      restEvent("GET", "/runs", { headers: { ...epx, "accept-encoding": "gzip" }, query }),
    );
    expect(zipped.isBase64Encoded).toBe(true);
    expect(JSON.parse(decoded(zipped)).runs).toHaveLength(200);
    const plain = await sameAnswer(restEvent("GET", "/runs", { headers: epx, query }));
    expect(plain.isBase64Encoded).toBe(false);

    const origin = { ...auth, origin: "https://app.example.org" };
    const cors = await sameAnswer(restEvent("GET", `/api/v1/jobs/${jobId}`, { headers: origin }));
    expect(cors.multiValueHeaders["access-control-allow-origin"]).toEqual([
      "https://app.example.org",
    ]);
    await sameAnswer(
      restEvent("OPTIONS", "/api/v1/jobs", {
        headers: { origin: "https://app.example.org", "access-control-request-method": "POST" },
      }),
    );
  });

  it("for errors: 401, 404, 405, 413, 415, malformed JSON, a non-ASCII header", async () => {
    const { token } = await makeUser();
    const auth = { authorization: `Bearer ${token}`, "content-type": "application/json" };
    await sameAnswer(restEvent("GET", "/api/v1/jobs"));
    await sameAnswer(restEvent("GET", "/nowhere", { headers: auth }));
    await sameAnswer(restEvent("DELETE", "/health"));
    const tooLarge = await sameAnswer(
      restEvent("POST", "/api/v1/jobs", {
        headers: auth,
        body: JSON.stringify({ name: "x".repeat(MAX_BODY_BYTES) }),
      }),
    );
    expect(tooLarge.statusCode).toBe(413);
    await sameAnswer(
      restEvent("POST", "/api/v1/jobs", {
        headers: { ...auth, "content-type": "text/plain" },
        body: "name=x",
      }),
    );
    await sameAnswer(restEvent("POST", "/api/v1/jobs", { headers: auth, body: '{"name":' }));
    await sameAnswer(
      restEvent("POST", "/api/v1/jobs", {
        headers: { ...auth, "x-request-id": "café" },
        body: Buffer.from('{"name":').toString("base64"),
        base64: true,
      }),
    );
  });

  it("for writes: the same statuses, headers and fields (ids and times differ)", async () => {
    const { token } = await makeUser();
    const auth = { authorization: `Bearer ${token}`, "content-type": "application/json" };
    const event = restEvent("POST", "/api/v1/jobs", {
      headers: auth,
      body: Buffer.from(JSON.stringify({ name: "écrit ✓" })).toString("base64"),
      base64: true,
    });
    expect((await sameAnswerOfWrite(event)).name).toBe("écrit ✓");
  });

  it("for bodies sent chunked, or with a byte order mark", async () => {
    const { token } = await makeUser();
    const auth = { authorization: `Bearer ${token}`, "content-type": "application/json" };
    const chunked = await sameAnswerOfWrite(
      restEvent("POST", "/api/v1/jobs", {
        headers: { ...auth, "transfer-encoding": "chunked" },
        body: '{"name":"chunked"}',
      }),
    );
    expect(chunked.name).toBe("chunked");
    const marked = await sameAnswerOfWrite(
      restEvent("POST", "/api/v1/jobs", { headers: auth, body: '\uFEFF{"name":"marked"}' }),
    );
    expect(marked.name).toBe("marked");
  });

  it("answers an event no request can be made of with a 400 in our error shape", async () => {
    const event = restEvent("GET", "/health", { headers: { "bad header": "x" } });
    const answer = await ourAnswer(event);
    expect(answer.statusCode).toBe(400);
    expect(JSON.parse(answer.body).error.code).toBe("invalid");
    expect(answer.multiValueHeaders["x-request-id"]).toEqual(["gw-request-id-1"]);
  });

  // hono's adapter hands `new Request()` a GET with a body, which throws: a plain-text 400.
  it("ignores the body of a GET (where hono's adapter answered a plain-text 400)", async () => {
    const event = restEvent("GET", "/health", {
      body: "ignored",
      headers: { "content-length": String(2 * 1024 * 1024) },
    });
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    expect((await honoAnswer(event)).statusCode).toBe(400);
    logged.mockRestore();
    const answer = await ourAnswer(event);
    expect(answer.statusCode).toBe(200);
    expect(JSON.parse(answer.body).status).toBe("healthy");
  });
});

describe("the adapter's classes in place of Node's", () => {
  it("are what Headers and Response mean in code; the global object's properties stay Node's", () => {
    // On Node 22 (Lambda's), reading or redefining those properties loads undici: they are
    // left as Node made them, and read only when a real one is needed.
    const names = ["Headers", "Request", "Response"] as const;
    const own = () => names.map((n) => Object.getOwnPropertyDescriptor(globalThis, n));
    const before = own();
    const installed = installedFetchClasses();
    class A {}
    class B {}
    class C {}
    try {
      installFetchClasses({ Headers: A as never, Request: C as never, Response: B as never });
      const meant = new Function("return [Headers, Request, Response]")() as unknown[];
      expect(meant).toEqual([A, C, B]);
      expect(own()).toEqual(before);
    } finally {
      installFetchClasses(installed);
    }
    // What handle() installs, here as in the Lambda.
    handle(app);
    const [Headers_, Request_, Response_] = new Function(
      "return [Headers, Request, Response]",
    )() as [unknown, typeof Request, unknown];
    expect([Headers_, Response_]).toEqual([EventHeaders, EventResponse]);
    // An EventRequest and Node's requests are Requests to instanceof; `new` builds Node's.
    const ours = new EventRequest("GET", "https://x.example/", new EventHeaders(), null);
    expect(ours instanceof Request_).toBe(true);
    const node = new Request_("https://x.example/");
    expect(node).toBeInstanceOf(fetchClasses().Request);
    expect(node instanceof Request_).toBe(true);
    expect({} instanceof Request_).toBe(false);
    expect(own()).toEqual(before);
  });
});

describe("the adapter's Request and Response", () => {
  const probe = new Hono();
  probe.post("/twice", async (c) => {
    const first = await c.req.raw.text();
    const second = await c.req.raw.text().then(
      () => "read again",
      (e: Error) => e.constructor.name,
    );
    const failed = (work: () => unknown) =>
      Promise.resolve()
        .then(work)
        .then(
          () => "worked",
          (e: Error) => e.constructor.name,
        );
    return c.json({
      first,
      second,
      used: c.req.raw.bodyUsed,
      clone: await failed(() => c.req.raw.clone()),
      blob: await failed(() => c.req.raw.blob()),
      // A real Request built after the read (for its signal) does not make it readable.
      afterSignal: await failed(() => c.req.raw.signal && c.req.raw.json()),
      shown: inspect(c.req.raw).includes("/twice"),
    });
  });
  probe.post("/stream", async (c) => {
    const raw = c.req.raw;
    const reader = raw.body!.getReader();
    const chunks: Uint8Array[] = [];
    for (let r = await reader.read(); !r.done; r = await reader.read()) chunks.push(r.value);
    return c.json({ streamed: Buffer.concat(chunks).toString(), used: raw.bodyUsed });
  });
  probe.post("/native", async (c) => {
    const raw = c.req.raw;
    const copy = await raw.clone().json();
    const bytes = new Uint8Array(await raw.arrayBuffer());
    return c.json({
      isRequest: raw instanceof Request,
      signal: raw.signal instanceof AbortSignal,
      copy,
      bytes: bytes.length,
      url: raw.url,
      q: c.req.query("q"),
      method: raw.method,
    });
  });
  probe.get("/responses", async (c) => {
    const light = new Response("text");
    const streamed = new Response(new Blob(["blob"]).stream(), { status: 202 });
    const copy = await c.json({ a: 1 }, 201).clone().json();
    return c.json({
      light: [light instanceof Response, light.status, light.headers.get("content-type")],
      lightText: await light.text(),
      lightUsed: light.bodyUsed,
      streamed: [streamed instanceof Response, streamed.status, await streamed.text()],
      native: new NativeResponse("x") instanceof Response,
      copy,
      noContent: new Response(null, { status: 204 }).status,
      noContentWithBody: (() => {
        try {
          return new Response("", { status: 204 }).status;
        } catch (e) {
          return (e as Error).constructor.name;
        }
      })(),
    });
  });
  /** What code reading a response sees: clones, reads, second reads, bodyUsed. */
  async function reads(make: () => Response) {
    const outcome = (work: () => Promise<unknown>) =>
      work().then(
        (v) => (v instanceof ArrayBuffer ? [...new Uint8Array(v)] : v),
        (e: Error) => e.constructor.name,
      );
    const a = make();
    const copy = a.clone();
    const b = make();
    const c = make();
    const d = make();
    const readThenNative = await outcome(() => d.text()).then(() => d.type);
    const e = make();
    e.headers.delete("content-type");
    return {
      readThenNative,
      afterNative: await outcome(() => d.text()),
      cloneHeaders: [...e.clone().headers],
      copy: await outcome(() => copy.text()),
      text: await outcome(() => a.text()),
      again: await outcome(() => a.text()),
      used: a.bodyUsed,
      cloneUsed: (() => {
        try {
          a.clone();
          return "cloned";
        } catch (e) {
          return (e as Error).constructor.name;
        }
      })(),
      blobUsed: await outcome(() => a.blob()),
      json: await outcome(() => b.json()),
      bytes: await outcome(() => c.arrayBuffer()),
      headers: [...c.headers],
      status: [c.status, c.statusText, c.ok],
    };
  }
  probe.get("/reads", async (c) => {
    const bodies: [string, () => ConstructorParameters<typeof Response>[0]][] = [
      ["text", () => '{"a":"ü"}'],
      ["bytes", () => new TextEncoder().encode('\ufeff{"b":2}')],
      ["view", () => new TextEncoder().encode('xx{"v":1}').subarray(2)],
      ["bom", () => '\ufeff{"c":3}'],
      ["none", () => null],
    ];
    const out: Record<string, unknown> = {};
    for (const [name, body] of bodies) {
      const init = { status: 202, statusText: "Taken", headers: { "x-a": "1" } };
      const ours = await reads(() => new Response(body(), init));
      expect(ours).toEqual(await reads(() => new NativeResponse(body(), init)));
      out[name] = ours.json;
    }
    return c.json(out);
  });
  probe.get("/bodiless", (c) =>
    c.json({ body: c.req.raw.body, used: c.req.raw.bodyUsed, text: null as string | null }),
  );
  probe.post("/buffer", async (c) =>
    c.json({ bytes: [...new Uint8Array(await c.req.raw.arrayBuffer())] }),
  );
  probe.post("/bodiless", async (c) =>
    c.json({ body: c.req.raw.body, used: c.req.raw.bodyUsed, text: await c.req.raw.text() }),
  );
  probe.get("/bytes", (c) =>
    c.body(new Uint8Array([0, 1, 2, 255]), 200, { "content-type": "application/octet-stream" }),
  );
  const serve = handle(probe);
  const body = (result: RestResult) => JSON.parse(result.body);

  it("reads the body once; a second read fails as on a real Request", async () => {
    const answer = await serve(restEvent("POST", "/twice", { body: "once" }));
    expect(body(answer)).toEqual({
      first: "once",
      second: "TypeError",
      used: true,
      clone: "TypeError",
      blob: "TypeError",
      afterSignal: "TypeError",
      shown: true,
    });
  });

  it("gives exactly the body's bytes to arrayBuffer(), text or base64 in the event", async () => {
    // A short body sits in Node's shared Buffer pool: its bytes, not the pool's.
    for (const [sent, base64] of [
      ["é!", false],
      [Buffer.from([0xff, 0, 7]).toString("base64"), true],
    ] as const) {
      const answer = await serve(restEvent("POST", "/buffer", { body: sent, base64 }));
      const expected = base64 ? Buffer.from(sent, "base64") : Buffer.from(sent);
      expect(body(answer).bytes).toEqual([...expected]);
    }
  });

  it("gives the body as a stream to code that asks for one", async () => {
    const answer = await serve(restEvent("POST", "/stream", { body: "a stream" }));
    expect(body(answer)).toEqual({ streamed: "a stream", used: true });
  });

  it("is a Request, with a signal, clone() and the decoded bytes of a base64 body", async () => {
    const sent = Buffer.from(JSON.stringify({ n: "ünï" })).toString("base64");
    const answer = await serve(
      restEvent("POST", "/native", { body: sent, base64: true, query: { q: ["a b&c=d"] } }),
    );
    expect(body(answer)).toEqual({
      isRequest: true,
      signal: true,
      copy: { n: "ünï" },
      bytes: Buffer.byteLength(JSON.stringify({ n: "ünï" })),
      url: "https://abc123.execute-api.us-east-1.amazonaws.com/native?q=a%20b%26c%3Dd",
      q: "a b&c=d",
      method: "POST",
    });
  });

  it("makes responses that are Responses, read as real ones", async () => {
    const answer = await serve(restEvent("GET", "/responses"));
    expect(body(answer)).toEqual({
      light: [true, 200, "text/plain;charset=UTF-8"],
      lightText: "text",
      lightUsed: true,
      streamed: [true, 202, "blob"],
      native: true,
      copy: { a: 1 },
      noContent: 204,
      noContentWithBody: "TypeError",
    });
  });

  it("reads text and byte bodies as a real Response does: clones, second reads, JSON", async () => {
    const answer = await serve(restEvent("GET", "/reads"));
    expect(body(answer)).toEqual({
      text: { a: "ü" },
      bytes: { b: 2 },
      view: { v: 1 },
      bom: { c: 3 },
      none: "SyntaxError",
    });
  });

  it("never takes the URL's host from the Host header", async () => {
    const event = restEvent("POST", "/native", { body: "{}", headers: { host: "evil/admin#" } });
    delete (event as { requestContext?: unknown }).requestContext;
    expect(body(await serve(event)).url).toBe("https://localhost/native");
  });

  it("sets our headers on a response whose headers are immutable (a redirect)", async () => {
    const redirecting = new Hono();
    redirecting.use(requestContext, corsFromAllowList());
    redirecting.get("/away", () => Response.redirect("https://example.org/", 302));
    const answer = await handle(redirecting)(restEvent("GET", "/away"));
    expect(answer.statusCode).toBe(302);
    expect(answer.multiValueHeaders).toMatchObject({
      location: ["https://example.org/"],
      "x-request-id": ["gw-request-id-1"],
      vary: ["Origin"],
    });
  });

  it("has a null body when the event has none, as a fetch Request would", async () => {
    const get = await serve(restEvent("GET", "/bodiless"));
    expect(body(get)).toEqual({ body: null, used: false, text: null });
    const post = await serve(restEvent("POST", "/bodiless"));
    expect(body(post)).toEqual({ body: null, used: false, text: "" });
  });

  it("base64-encodes a binary body for the gateway", async () => {
    const answer = await serve(restEvent("GET", "/bytes"));
    expect(answer.isBase64Encoded).toBe(true);
    expect([...Buffer.from(answer.body, "base64")]).toEqual([0, 1, 2, 255]);
  });
});
