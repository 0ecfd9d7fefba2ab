import { createHash, timingSafeEqual } from "node:crypto";
import { Config } from "@fred/core/config";
import { UnauthorizedError } from "@fred/core/error";
import { Token } from "@fred/core/user";
import type { Context } from "hono";
import type { AppEnv } from "../env";
import { isReadOnlyRoute } from "../router";
import { createMiddleware } from "./create";

/**
 * The bearer token of a request, from `Authorization: Bearer …` or the epx client's
 * `Offline-Token: Bearer …` (header names are case-insensitive).
 */
export function bearer(header: string | undefined): string | undefined {
  const match = header?.match(/^\s*Bearer\s+(\S+)\s*$/i);
  return match?.[1];
}

type Verified = Awaited<ReturnType<typeof Token.verify>>;

/**
 * Who each token was at its last successful check in this process, by digest (never the
 * secret), the most recent last. Only a hint of whose data a read-only route may read
 * while the token is checked again: see `requireUser`.
 */
const lastVerified = new Map<string, Verified>();
const REMEMBERED = 1000;

function remember(digest: string, verified: Verified) {
  lastVerified.delete(digest);
  lastVerified.set(digest, verified);
  if (lastVerified.size > REMEMBERED) lastVerified.delete(lastVerified.keys().next().value!);
}

/** A token remembered here that has not expired since. */
function recalled(digest: string): Verified | undefined {
  const known = lastVerified.get(digest);
  const expires = known?.token.timeExpires;
  return expires && expires.getTime() <= Date.now() ? undefined : known;
}

/**
 * A user's API token (the admin token is not one), checked before the route runs, except
 * for a route declared `readOnly` when this process has verified the token before: that
 * route runs while the token is checked again, so its statements go out together with the
 * check (one round trip to the database, not two), and it answers only once the check has
 * passed. A token revoked or expired since gets the same 401 as ever, and nothing of what
 * the route read; the 401 waits for the route to finish.
 */
export const requireUser = createMiddleware<AppEnv>(async (c, next) => {
  if (c.get("authenticated")) return next(); // already checked by an outer registration
  const secret = bearer(c.req.header("authorization")) ?? bearer(c.req.header("offline-token"));
  if (!secret) throw new UnauthorizedError();
  const digest = Token.hash(secret);
  const check = Token.verify(secret).then(
    (verified) => {
      remember(digest, verified);
      return verified;
    },
    (error: unknown) => {
      if (error instanceof UnauthorizedError) lastVerified.delete(digest);
      throw error;
    },
  );
  const known = isReadOnlyRoute(c) ? recalled(digest) : undefined;
  if (!known) {
    authenticated(c, await check);
    return next();
  }
  check.catch(() => {}); // awaited below
  c.set("user", known.user);
  c.set("token", known.token);
  await next();
  try {
    const verified = await check;
    // Cannot differ (a token's user is never changed); if it ever did, what the route
    // read was someone else's.
    if (verified.user.id !== known.user.id) throw new UnauthorizedError();
    authenticated(c, verified);
  } catch (error) {
    // The error handler answers from no response: the route's body and the headers of its
    // response are dropped (assigning `c.res` would merge them in). Headers set with
    // `c.header()` before any response existed would stay: a read-only route sets none
    // (see LazyRoute), and the one the error handler gives a route's own 503 (Retry-After)
    // is removed here.
    c.set("user", undefined as never);
    c.set("token", undefined as never);
    c.res = undefined;
    c.finalized = false;
    c.header("Retry-After", undefined);
    throw error;
  }
});

function authenticated(c: Context<AppEnv>, { user, token }: Verified) {
  c.set("user", user);
  c.set("token", token);
  c.set("authenticated", true);
}

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
