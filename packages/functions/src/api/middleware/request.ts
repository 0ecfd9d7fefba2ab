import { randomUUID } from "node:crypto";
import type { AppEnv } from "../env";
import { log } from "../log";
import { createMiddleware } from "./create";
import { setOnResponse } from "./response-headers";

const SAFE_ID = /^[\w.:-]{1,128}$/;

/**
 * A request id on every response (API Gateway's when there is one), baseline security
 * headers, and one structured log line per request. The logged path never includes the
 * query string, and no header is logged, so tokens and signatures stay out of logs.
 */
export const requestContext = createMiddleware<AppEnv>(async (c, next) => {
  const started = performance.now();
  const incoming = c.req.header("x-request-id");
  const requestId =
    c.env?.event?.requestContext?.requestId ??
    (incoming && SAFE_ID.test(incoming) ? incoming : randomUUID());
  c.set("requestId", requestId);
  try {
    await next();
  } finally {
    // On the response that answers, whoever made it (the route, the error handler, a 404).
    setOnResponse(c, "x-request-id", requestId);
    setOnResponse(c, "x-content-type-options", "nosniff");
    if (c.req.header("authorization") || c.req.header("offline-token")) {
      setOnResponse(c, "cache-control", "no-store");
    }
    log.info("request", {
      requestId,
      method: c.req.method,
      route: c.req.routePath,
      path: c.req.path.slice(0, 256),
      status: c.res.status,
      ms: Math.round((performance.now() - started) * 100) / 100,
      userId: c.get("user")?.id,
    });
  }
});
