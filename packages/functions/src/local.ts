/** The same app on Node's HTTP server, for `pnpm start` and load tests. */
import { randomUUID } from "node:crypto";
import { STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";
import { type ServerType, serve } from "@hono/node-server";
import { app } from "./api/app";
import { errorBody } from "./api/error";

/**
 * As API Gateway gives up on a request at 29 s: a client that stops sending its body (or
 * its headers) is answered 408 instead of holding a connection for Node's 300 s.
 */
export const REQUEST_TIMEOUT_MS = 30_000;

export function listen(
  port: number,
  hostname = "127.0.0.1",
  requestTimeoutMs = REQUEST_TIMEOUT_MS,
): Promise<ServerType> {
  return new Promise((resolve) => {
    const serverOptions = {
      requestTimeout: requestTimeoutMs,
      headersTimeout: requestTimeoutMs,
      // How often Node looks for requests past their time (its default is 30 s).
      connectionsCheckingInterval: Math.min(1000, requestTimeoutMs),
    };
    const server = serve({ fetch: app.fetch, port, hostname, serverOptions }, () =>
      resolve(server),
    );
    server.on("clientError", (error, socket) => answerMalformed(error, socket, requestTimeoutMs));
  });
}

/**
 * A request Node's parser refuses never reaches the app: an unknown method, a bad
 * Content-Length, headers over 16 KB, a timeout. Node would answer with an empty body;
 * this answers in the app's error shape, as the gateway does deployed.
 */
function answerMalformed(error: NodeJS.ErrnoException, socket: Duplex, timeoutMs: number) {
  if (error.code === "ECONNRESET" || !socket.writable) {
    socket.destroy();
    return;
  }
  const [status, code, message] =
    error.code === "HPE_HEADER_OVERFLOW"
      ? [431, "headers_too_large", "The request line and headers may be at most 16 KB."]
      : error.code === "ERR_HTTP_REQUEST_TIMEOUT"
        ? [408, "timeout", `The request did not arrive whole within ${timeoutMs / 1000} s.`]
        : [400, "invalid", "Malformed HTTP request."];
  const body = JSON.stringify(errorBody(code, message));
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
      "content-type: application/json\r\n" +
      `x-request-id: ${randomUUID()}\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\n` +
      `connection: close\r\n\r\n${body}`,
  );
}
