import { createHash, timingSafeEqual } from "node:crypto";
import { Config } from "@fred/core/config";
import { UnauthorizedError } from "@fred/core/error";
import { Token } from "@fred/core/user";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env";

/**
 * The bearer token of a request, from `Authorization: Bearer …` or the epx client's
 * `Offline-Token: Bearer …` (header names are case-insensitive).
 */
export function bearer(header: string | undefined): string | undefined {
  const match = header?.match(/^\s*Bearer\s+(\S+)\s*$/i);
  return match?.[1];
}

/** A user's API token. The admin token is not one. */
export const requireUser = createMiddleware<AppEnv>(async (c, next) => {
  if (c.get("user")) return next(); // already verified by an outer registration
  const token = bearer(c.req.header("authorization")) ?? bearer(c.req.header("offline-token"));
  if (!token) throw new UnauthorizedError();
  const { user, token: info } = await Token.verify(token);
  c.set("user", user);
  c.set("token", info);
  await next();
});

/** The operator's admin token (an sst.Secret deployed, ADMIN_TOKEN locally). */
export const requireAdmin = createMiddleware<AppEnv>(async (c, next) => {
  const expected = Config.adminToken();
  const token = bearer(c.req.header("authorization"));
  if (!expected || !token || !sameSecret(token, expected)) {
    throw new UnauthorizedError("The admin token is required.");
  }
  await next();
});

/** Constant-time comparison that does not leak the secret's length. */
function sameSecret(a: string, b: string): boolean {
  const digest = (s: string) => createHash("sha256").update(s).digest();
  return timingSafeEqual(digest(a), digest(b));
}
