import { createHash, timingSafeEqual } from "node:crypto";
import { Config } from "@fred/core/config";
import { UnauthorizedError } from "@fred/core/error";
import { Token } from "@fred/core/user";
import type { Context } from "hono";
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

type Verified = Awaited<ReturnType<typeof Token.verify>>;

/**
 * Who each token was at its last successful check in this process, by digest (never the
 * secret), the most recent last. Only a hint of whose data to read: see `requireUserId`.
 */
const lastVerified = new Map<string, Verified>();
const REMEMBERED = 1000;

function remember(digest: string, verified: Verified) {
  lastVerified.delete(digest);
  lastVerified.set(digest, verified);
  if (lastVerified.size > REMEMBERED) lastVerified.delete(lastVerified.keys().next().value!);
}

function authenticate(pipelineReads: boolean) {
  return createMiddleware<AppEnv>(async (c, next) => {
    if (c.get("user")) return next(); // already verified by an outer registration
    const secret = bearer(c.req.header("authorization")) ?? bearer(c.req.header("offline-token"));
    if (!secret) throw new UnauthorizedError();
    const digest = Token.hash(secret);
    const check = Token.verify(secret, digest).then(
      (verified) => {
        remember(digest, verified);
        return verified;
      },
      (error: unknown) => {
        if (error instanceof UnauthorizedError) lastVerified.delete(digest);
        throw error;
      },
    );
    const read = c.req.method === "GET" || c.req.method === "HEAD";
    const known = pipelineReads && read ? lastVerified.get(digest) : undefined;
    if (!known) {
      use(c, await check);
      return next();
    }
    // The route's reads go out right behind the token's check, on the same connection: one
    // round trip where there were two. It answers only once the check has passed.
    check.catch(() => {}); // awaited below
    use(c, known);
    await next();
    try {
      const verified = await check;
      // Cannot differ (a token's user is never changed); if it ever did, what the route
      // read was someone else's.
      if (verified.user.id !== known.user.id) throw new UnauthorizedError();
      use(c, verified);
    } catch (error) {
      // Nothing the route answered leaves with the error, not its body and not its headers
      // (setting `c.res` would keep them): the error handler starts from no response.
      c.res = undefined;
      c.finalized = false;
      throw error;
    }
  });
}

function use(c: Context<AppEnv>, { user, token }: Verified) {
  c.set("user", user);
  c.set("token", token);
}

/** A user's API token, checked before the route runs. The admin token is not one. */
export const requireUser = authenticate(false);

/**
 * As `requireUser`, for routes that use no more of the user than its id (a token's user
 * never changes). A GET or HEAD with a token this process has verified before runs while
 * the token is checked again, and its answer waits for that check: a revoked or expired
 * token gets the same 401 as ever, and nothing of what the route read. Writes, and a token
 * not seen here before, are checked first.
 */
export const requireUserId = authenticate(true);

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
