import { InvalidError } from "@fred/core/error";
import type { Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { errorResponse } from "../error";
import { createMiddleware } from "./create";

/**
 * Lambda takes and returns 6 MB each. A batch's answer echoes its body's requests, and in
 * the Lambda result the answer is a JSON string, where each `"` and `\\` doubles: a body
 * of text made of quotes is twice its size there, with ~360 bytes per run more (Run.LIMITS).
 * At 2 MiB the worst answer fits (packages/functions/test/lambda.test.ts builds it).
 */
export const MAX_BODY_BYTES = 2 * 1024 * 1024;

const tooLarge = (c: Context) =>
  errorResponse(
    c,
    413,
    "payload_too_large",
    `Request bodies may be at most ${MAX_BODY_BYTES} bytes.`,
  );

/** hono's limit, which counts a body of unknown length as it is read. */
const countedLimit = bodyLimit({ maxSize: MAX_BODY_BYTES, onError: tooLarge });

/**
 * Bodies over MAX_BODY_BYTES are refused before they are read further: 413. A body whose length is
 * known (always, from the Lambda adapter) is judged by it without touching the request's
 * body stream, which hono's limit would have the adapter build.
 */
export const limitBody = createMiddleware(async (c, next) => {
  const length = c.req.header("content-length");
  if (length === undefined || c.req.header("transfer-encoding") !== undefined) {
    return countedLimit(c, next);
  }
  if (Number.parseInt(length, 10) > MAX_BODY_BYTES) return tooLarge(c);
  await next();
});

export const JSON_TYPE = /^application\/([\w.-]+\+)?json\s*(;.*)?$/i;

const UTF8 = new TextDecoder("utf-8", { fatal: true });

/**
 * The request's body as text: a 400 unless it is UTF-8. fetch's `text()` would put U+FFFD
 * in place of bytes that are not, and we would store that as if it had been sent. Read
 * once, where hono's `c.req.text()` and `c.req.json()` find it, whichever reads first.
 */
export function bodyText(c: Context): Promise<string> {
  // Typed as values, but hono keeps the promises of its reads there.
  const cache = c.req.bodyCache as { text?: Promise<string> };
  cache.text ??= c.req.arrayBuffer().then(
    (bytes) => {
      try {
        return UTF8.decode(bytes);
      } catch {
        throw new InvalidError("The body is not valid UTF-8.");
      }
    },
    // Only `pnpm start` streams bodies (Lambda's is in the event): a client that went away
    // mid-body. Its socket's ECONNRESET would otherwise read as the database's: a 503.
    () => {
      throw new InvalidError("The body did not arrive whole.");
    },
  );
  return cache.text;
}

/**
 * A request that carries a body must say it is JSON: 415 otherwise. A GET with
 * `content-type: application/json` and no body (the epx client sends one) is fine.
 */
export const requireJson = createMiddleware(async (c, next) => {
  if (["POST", "PUT", "PATCH"].includes(c.req.method)) {
    const type = c.req.header("content-type");
    const length = c.req.header("content-length");
    const hasBody = length ? length !== "0" : c.req.raw.body !== null;
    if (hasBody && !(type && JSON_TYPE.test(type))) {
      return errorResponse(c, 415, "unsupported_media_type", "Send the body as application/json.");
    }
  }
  await next();
});
