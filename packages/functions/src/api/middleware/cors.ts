import { cors } from "hono/cors";

/** CORS for the origins in ALLOWED_ORIGINS (comma-separated) only; no wildcard. */
export function corsFromAllowList() {
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
