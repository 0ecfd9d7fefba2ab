import { cors } from "hono/cors";
import { createMiddleware } from "./create";
import { setOnResponse } from "./response-headers";

const ALLOW_HEADERS = [
  "Authorization",
  "Offline-Token",
  "Content-Type",
  "Idempotency-Key",
  "fredcli-version",
  "X-Request-Id",
];
// What a browser client may read: the request id to quote, when to retry, and whether an
// Idempotency-Key replayed the first response.
const EXPOSE_HEADERS = ["x-request-id", "Retry-After", "Idempotent-Replayed"];

/**
 * CORS for the origins in ALLOWED_ORIGINS (comma-separated), or any with `*`. Preflights
 * (OPTIONS) are hono's cors(). Any other request from an allowed origin gets its CORS
 * headers on the response it ends with, set after the route: whatever answered it, the
 * route or the error handler. (hono's cors() sets them on a placeholder response before the
 * route: a response dropped for an error lost them, and building and merging it cost every
 * request 15-30 µs, measured.) A request without an Origin (epx, scripts) gets none. Every
 * response varies by Origin.
 */
export function corsFromAllowList() {
  const allowed = new Set(
    (process.env.ALLOWED_ORIGINS ?? "")
      .split(",")
      .map((o) => o.trim())
      .filter(Boolean),
  );
  // `*` (refused for production stages by infra/stage.ts) allows any origin, as the
  // gateway's own responses and the bucket then do; the origin is echoed, varying by it.
  const isAllowed = (origin: string) => allowed.has("*") || allowed.has(origin);
  const preflight = cors({
    origin: (origin) => (isAllowed(origin) ? origin : null),
    allowMethods: ["GET", "POST", "PATCH", "DELETE", "OPTIONS"],
    allowHeaders: ALLOW_HEADERS,
    exposeHeaders: EXPOSE_HEADERS,
    maxAge: 600,
    credentials: false,
  });
  const expose = EXPOSE_HEADERS.join(",");
  return createMiddleware(async (c, next) => {
    if (c.req.method === "OPTIONS") return preflight(c, next);
    await next();
    const origin = c.req.header("origin");
    if (origin !== undefined && isAllowed(origin)) {
      setOnResponse(c, "Access-Control-Allow-Origin", origin);
      setOnResponse(c, "Access-Control-Expose-Headers", expose);
    }
    setOnResponse(c, "Vary", "Origin", true);
  });
}
