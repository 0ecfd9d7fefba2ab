/**
 * `pnpm start`'s server answers what Node's HTTP parser refuses (the app never sees it) in
 * the app's error shape, and does not wait forever for a request that stops arriving.
 */

import type { AddressInfo } from "node:net";
import net from "node:net";
import type { ServerType } from "@hono/node-server";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { listen } from "../src/local";
import { makeUser } from "./helpers";

let server: ServerType;
let port: number;

beforeAll(async () => {
  server = await listen(0, "127.0.0.1", 300);
  port = (server.address() as AddressInfo).port;
});

afterAll(() => new Promise<void>((done) => server.close(() => done())));

/** Sends `raw` as is and reads the whole answer until the server closes. */
function exchange(
  raw: string,
  keepOpen = false,
): Promise<{ status: number; json: unknown; head: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1", () => {
      socket.write(raw);
      if (!keepOpen) socket.end();
    });
    let data = "";
    socket.on("data", (chunk) => {
      data += chunk;
    });
    socket.on("error", reject);
    socket.on("close", () => {
      const [head = "", body = ""] = data.split("\r\n\r\n");
      resolve({
        status: Number(head.split(" ")[1]),
        json: body ? JSON.parse(body) : undefined,
        head: head.toLowerCase(),
      });
    });
  });
}

describe("the local server, for requests Node's parser refuses", () => {
  it.each([
    ["an unknown method", "FOO /health HTTP/1.1\r\nHost: x\r\n\r\n", 400, "invalid"],
    [
      "a Content-Length that is not a number",
      "POST /api/v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
      400,
      "invalid",
    ],
    [
      "headers over 16 KB",
      `GET /health HTTP/1.1\r\nHost: x\r\nX-Pad: ${"a".repeat(20_000)}\r\n\r\n`,
      431,
      "headers_too_large",
    ],
  ])("%s: a JSON error", async (_name, raw, status, code) => {
    const answer = await exchange(raw);
    expect(answer.status).toBe(status);
    expect(answer.json).toMatchObject({ error: { code, message: expect.any(String) } });
    const body = answer.json as { error: { message: string }; description: string };
    expect(body.description).toBe(body.error.message);
    expect(answer.head).toMatch(/\r\nx-request-id: [\w-]{36}\r\n/);
  });

  it("a request that stops arriving: a 408 once its time is up", async () => {
    const started = performance.now();
    // Its headers never end (a body that stops is answered the same way, if a route
    // reads it; most answer a 401 before they do).
    const answer = await exchange("GET /health HTTP/1.1\r\nHost: x\r\n", true);
    expect(answer.status).toBe(408);
    expect(answer.json).toMatchObject({ error: { code: "timeout" } });
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it("a body cut short by the client: a 400 that says so, not a 500", async () => {
    const { token } = await makeUser();
    const head = `POST /api/v1/jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n`;
    // Ten bytes of the hundred, then the client's half of the connection closes.
    const answer = await exchange(`${head}{"name":"`);
    expect(answer.status).toBe(400);
    expect(answer.json).toMatchObject({ error: { code: "invalid" } });
  });

  it("a body the client abandons is logged as the 400 it is, not as an outage", async () => {
    const { token } = await makeUser();
    const lines: string[] = [];
    const out = vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
      lines.push(String(chunk));
      return true;
    });
    const level = process.env.LOG_LEVEL;
    process.env.LOG_LEVEL = "info";
    try {
      const socket = net.connect(port, "127.0.0.1");
      await new Promise((resolve) => socket.once("connect", resolve));
      socket.write(
        `POST /api/v1/jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n` +
          `Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"name":"`,
      );
      await new Promise((resolve) => setTimeout(resolve, 50));
      socket.resetAndDestroy(); // the client goes away mid-body
      const logged = () =>
        lines
          .flatMap((l) => l.split("\n"))
          .filter(Boolean)
          .map((l) => JSON.parse(l) as { msg: string; path?: string; status?: number })
          .filter((e) => e.msg === "request" && e.path === "/api/v1/jobs");
      for (let i = 0; i < 100 && logged().length === 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(logged().map((e) => e.status)).toEqual([400]);
    } finally {
      process.env.LOG_LEVEL = level;
      out.mockRestore();
    }
  });

  it("still answers well-formed requests", async () => {
    const request = "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    const answer = await exchange(request, true); // the server closes after answering

    expect(answer.status).toBe(200);
  });
});
