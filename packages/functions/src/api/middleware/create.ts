import type { Env, MiddlewareHandler } from "hono";
import type { AppEnv } from "../env";

/**
 * hono/factory's `createMiddleware`, which returns its argument typed. Ours because
 * hono/factory imports `hono`, and with it Hono's default routers, into every cold start
 * (the app runs on hono/tiny's: ../router.ts).
 */
export const createMiddleware = <E extends Env = AppEnv>(middleware: MiddlewareHandler<E>) =>
  middleware;
