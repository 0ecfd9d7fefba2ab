/**
 * The adapter's `Headers` (src/api/gateway/event-headers.ts) against Node's own: the same
 * calls give the same answers and the same errors, and what each holds afterwards reads
 * the same. Then that it keeps a cold start free of Node's fetch classes.
 */
import { spawnSync } from "node:child_process";
import path from "node:path";
import { pathToFileURL } from "node:url";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EventHeaders } from "../src/api/gateway/event-headers";
import { fetchClasses } from "../src/api/gateway/fetch-classes";

const { Headers: NodeHeaders } = fetchClasses();

const name = fc.oneof(
  fc.constantFrom(
    "a",
    "A",
    "x-Request-Id",
    "X-REQUEST-ID",
    "set-cookie",
    "Set-Cookie",
    "content-type",
    "",
    "bad name",
    "a:b",
    "ü",
    "tab\t",
  ),
  fc.string({ maxLength: 4 }),
);
const value = fc.oneof(
  fc.constantFrom(
    "v",
    " padded\t",
    "\r\n trimmed \n",
    "",
    "a, b",
    "\x7f",
    "ü",
    "€",
    "in\nside",
    "nul\0",
    "cr\rx",
    "x\u00ff",
  ),
  fc.string({ maxLength: 6 }),
  fc.integer(),
  fc.constant(Symbol("s")),
);

type Op =
  | ["append" | "set", string, string | number | symbol]
  | ["delete" | "get" | "has", string]
  | ["getSetCookie" | "entries" | "forEach"];

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.tuple(fc.constantFrom("append" as const, "set" as const), name, value),
  fc.tuple(fc.constantFrom("delete" as const, "get" as const, "has" as const), name),
  fc.tuple(fc.constantFrom("getSetCookie" as const, "entries" as const, "forEach" as const)),
);

type AnyHeaders = Pick<
  Headers,
  "append" | "set" | "delete" | "get" | "has" | "getSetCookie" | "entries" | "forEach"
>;

/** What one call gives: its result, or the class of what it threw. */
function call(headers: AnyHeaders, [method, ...args]: Op): unknown {
  try {
    if (method === "entries") return [...headers.entries()];
    if (method === "forEach") {
      const seen: unknown[] = [];
      headers.forEach((v, n, h) => {
        seen.push([n, v, h === headers]);
      });
      return seen;
    }
    return (headers[method] as (...a: unknown[]) => unknown)(...args);
  } catch (error) {
    return `threw ${(error as Error).constructor.name}`;
  }
}

function construct(make: () => AnyHeaders): AnyHeaders | string {
  try {
    return make();
  } catch (error) {
    return `threw ${(error as Error).constructor.name}`;
  }
}

describe("the adapter's Headers", () => {
  it("answers every sequence of calls as Node's Headers does", () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 25 }), (ops) => {
        const ours = new EventHeaders() as unknown as AnyHeaders;
        const node = new NodeHeaders();
        for (const o of ops) expect(call(ours, o)).toEqual(call(node, o));
        expect([...ours.entries()]).toEqual([...node.entries()]);
        expect(ours.getSetCookie()).toEqual(node.getSetCookie());
      }),
      { numRuns: 400 },
    );
  });

  it("is built from what Node's is built from: records, pairs, other Headers", () => {
    // A copy trims values again: two empty ones combined (", ") come out as ",".
    const combined = new NodeHeaders([
      ["a", ""],
      ["a", ""],
    ]);
    expect([...new EventHeaders(combined)]).toEqual([...new NodeHeaders(combined)]);
    const record = fc.dictionary(name, fc.string({ maxLength: 5 }), { maxKeys: 5 });
    const pairs = fc.array(
      fc.oneof(
        fc.tuple(name, value),
        fc.array(fc.string({ maxLength: 2 }), { maxLength: 3 }),
        fc.constant("ab"),
      ),
      { maxLength: 5 },
    );
    fc.assert(
      fc.property(fc.oneof(record, pairs), (init) => {
        const ours = construct(() => new EventHeaders(init as never) as unknown as AnyHeaders);
        const node = construct(() => new NodeHeaders(init as never));
        if (typeof node === "string" || typeof ours === "string") {
          expect(ours).toEqual(node);
          return;
        }
        expect([...ours.entries()]).toEqual([...node.entries()]);
        // Each from the other, and from itself.
        // Copies, each way: as Node copies one Headers into another.
        const copied = [...new NodeHeaders(node as unknown as Headers)];
        expect([...new EventHeaders(node as unknown as Headers)]).toEqual(copied);
        expect([...new EventHeaders(ours as never)]).toEqual(copied);
        expect([...new NodeHeaders(ours as unknown as Headers)]).toEqual(copied);
        expect(ours.getSetCookie()).toEqual(node.getSetCookie());
      }),
      { numRuns: 300 },
    );
    expect([...new EventHeaders(undefined).entries()]).toEqual([]);
    for (const init of [null, 1, "a", true]) {
      expect(construct(() => new EventHeaders(init as never) as never)).toEqual(
        construct(() => new NodeHeaders(init as never)),
      );
    }
  });

  it("is a Headers to instanceof, as Node's is to ours", () => {
    expect(new EventHeaders()).toBeInstanceOf(EventHeaders);
    expect(new NodeHeaders()).toBeInstanceOf(EventHeaders);
    expect(new EventHeaders()).toBeInstanceOf(NodeHeaders);
    expect({ get: () => null }).not.toBeInstanceOf(EventHeaders);
    expect(Object.prototype.toString.call(new EventHeaders())).toBe("[object Headers]");
  });
});

describe("a cold start", () => {
  it("answers with text or bytes without loading Node's fetch classes; loads them when asked", () => {
    // A fresh process: the gateway's classes serve requests and their responses alone.
    const gateway = pathToFileURL(path.resolve(__dirname, "../src/api/gateway/index.ts")).href;
    const script = `
      const { handle } = await import(${JSON.stringify(gateway)});
      const loaded = () => process.moduleLoadList.some((m) => m.includes("undici"));
      const app = { fetch: async (req) => {
        if (req.url.endsWith("/bytes")) {
          return new Response(Buffer.from([0, 1, 255]), { headers: { "content-type": "application/octet-stream" } });
        }
        const res = new Response(JSON.stringify({ got: req.headers.get("x-a") }), { status: 201 });
        res.headers.set("content-type", "application/json");
        return res;
      } };
      const serve = handle(app);
      const text = await serve({ path: "/x", httpMethod: "POST", headers: { "X-A": " 1 " }, body: "{}" });
      const bytes = await serve({ path: "/bytes", httpMethod: "GET" });
      const before = loaded();
      const native = new Request("https://x/") instanceof Request && new Headers() instanceof Headers;
      console.log(JSON.stringify({ text, bytes, before, after: loaded(), native }));
    `;
    const run = spawnSync(
      process.execPath,
      ["--import", "tsx", "--input-type=module", "-e", script],
      {
        cwd: path.resolve(__dirname, ".."),
        encoding: "utf8",
        env: { PATH: process.env.PATH, LOG_LEVEL: "silent" },
      },
    );
    expect(run.stderr).toBe("");
    const out = JSON.parse(run.stdout);
    expect(out.text).toMatchObject({ statusCode: 201, body: '{"got":"1"}' });
    expect(out.text.multiValueHeaders["content-type"]).toEqual(["application/json"]);
    expect(out.bytes).toMatchObject({ statusCode: 200, body: "AAH/", isBase64Encoded: true });
    expect(out.before).toBe(false);
    expect(out.after).toBe(true);
    expect(out.native).toBe(true);
  });
});
