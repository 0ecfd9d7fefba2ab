import { cors } from "hono/cors";
import { createMiddleware } from "hono/factory";

/**
 * CORS for the origins in ALLOWED_ORIGINS (comma-separated) only; no wildcard. Only a
 * request with an `Origin` header (a browser's) gets CORS headers: for the others (the epx
 * client, scripts) they mean nothing, and hono's cors() builds and then merges a
 * placeholder response to set them, ~20 µs a request. Every response varies by Origin.
 */
export function corsFromAllowList() {
  const corsHeaders = browserCors();
  return createMiddleware(async (c, next) => {
    if (c.req.header("origin") !== undefined) return corsHeaders(c, next);
    await next();
    c.header("Vary", "Origin", { append: true });
  });
}

function browserCors() {
  const allowed = new Set(
    (process.env.ALLOWED_ORIGINS ?? "")
      .split(",")
      .map((o) => o.trim())
      .filter(Boolean),
  );
  return cors({
    origin: (origin) => (allowed.has(origin) ? origin : null),
    allowMethods: ["GET", "POST", "PATCH", "DELETE", "OPTIONS"],
    allowHeaders: [
      "Authorization",
      "Offline-Token",
      "Content-Type",
      "Idempotency-Key",
      "fredcli-version",
      "X-Request-Id",
    ],
    exposeHeaders: ["x-request-id", "Retry-After"],
    maxAge: 600,
    credentials: false,
  });
}
