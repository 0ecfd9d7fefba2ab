import { bodyLimit } from "hono/body-limit";
import { createMiddleware } from "hono/factory";
import { errorResponse } from "../error";

export const MAX_BODY_BYTES = 1024 * 1024;

/** Bodies over 1 MB are refused before they are read further: 413. */
export const limitBody = bodyLimit({
  maxSize: MAX_BODY_BYTES,
  onError: (c) =>
    errorResponse(
      c,
      413,
      "payload_too_large",
      `Request bodies may be at most ${MAX_BODY_BYTES} bytes.`,
    ),
});

export const JSON_TYPE = /^application\/([\w.-]+\+)?json\s*(;.*)?$/i;

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
