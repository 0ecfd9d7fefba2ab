import { invalid, lazy } from "@fred/core/util";
import type { Hook, RouteConfig, RouteHandler } from "@hono/zod-openapi";
import type { Context, MiddlewareHandler, Next } from "hono";
import { Hono } from "hono";
import { LinearRouter } from "hono/router/linear-router";
import { z } from "zod";
import type { AppEnv } from "./env";
import { onError } from "./error";

/**
 * A route as @hono/zod-openapi's `createRoute` takes it, except that its schemas sit behind
 * functions: `request` is built on the route's first request (to validate it), `responses`
 * only for the OpenAPI document. A cold start then builds none of them, and a process only
 * those of the routes it serves.
 */
export type LazyRoute = Omit<RouteConfig, "request" | "responses" | "hide"> & {
  request?: () => NonNullable<RouteConfig["request"]>;
  responses: () => RouteConfig["responses"];
};

/** The `createRoute` config a lazy route stands for: what its handler is typed against. */
export type Resolved<L extends LazyRoute> = Omit<L, "request" | "responses"> & {
  request: L["request"] extends () => infer Q ? Extract<Q, RouteConfig["request"]> : undefined;
  responses: ReturnType<L["responses"]>;
};

/** Request validation failures become our 400 `invalid` error, with the zod issues. */
const validationHook: Hook<unknown, AppEnv, string, void> = (result) => {
  if (!result.success) throw invalid(result.error);
};

/**
 * A Hono router whose `openapi()` routes validate their requests exactly as
 * @hono/zod-openapi's `OpenAPIHono.openapi()` does, and are listed in the OpenAPI document
 * (`definitions`), without building any schema before it is needed.
 */
export class Router extends Hono<AppEnv> {
  /** Each route's OpenAPI definition, in registration order, built when asked for. */
  readonly definitions: (() => RouteConfig)[] = [];

  openapi<L extends LazyRoute>(route: L, handler: RouteHandler<Resolved<L>, AppEnv>): this {
    const { request, responses, middleware, ...rest } = route;
    const requestSchemas = request && lazy(request);
    const withRequest = () => (requestSchemas ? { request: requestSchemas() } : {});
    this.definitions.push(lazy(() => ({ ...rest, ...withRequest(), responses: responses() })));

    const path = rest.path.replaceAll(/\/{(.+?)}/g, "/:$1");
    const method = rest.method.toUpperCase();
    if (!requestSchemas) {
      // Nothing to validate: the route is its middleware and handler, as OpenAPIHono has it.
      const handlers = [middleware ?? [], handler].flat() as [MiddlewareHandler];
      this.on(method, path, ...handlers);
      return this;
    }

    // On the first request: the route's middleware, validators and handler, as OpenAPIHono
    // registers them (its validation semantics, media type checks included), run in order.
    let chain: Promise<MiddlewareHandler[]> | undefined;
    const build = async () => {
      const { OpenAPIHono } = await import("@hono/zod-openapi");
      const single = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
      const config = { ...rest, ...withRequest(), middleware, responses: {}, hide: true };
      single.openapi(config as RouteConfig, handler as never);
      return single.routes.map((r) => r.handler as MiddlewareHandler);
    };
    this.on(method, path, async (c, next) => {
      chain ??= build();
      await run(await chain, c, next);
    });
    return this;
  }

  /** Mounts a group's routes at the root, and its OpenAPI definitions with them. */
  include(group: Router): this {
    this.route("/", group);
    this.definitions.push(...group.definitions);
    return this;
  }
}

/**
 * Runs `handlers` as Hono's compose does for a matched route: an error thrown by one becomes
 * the app's error response at that level (so the middleware around it sees a response, not
 * a throw), and a returned Response becomes `c.res`. Unlike a nested compose it leaves
 * `c.req.routeIndex` alone, so path parameters still resolve against this route.
 */
async function run(handlers: MiddlewareHandler[], c: Context<AppEnv>, next: Next) {
  let index = -1;
  const dispatch = async (i: number): Promise<void> => {
    if (i <= index) throw new Error("next() called multiple times");
    index = i;
    const handler = i < handlers.length ? handlers[i] : i === handlers.length ? next : undefined;
    if (!handler) return;
    let res: Response | undefined;
    let isError = false;
    try {
      res = (await handler(c, () => dispatch(i + 1))) as Response | undefined;
    } catch (err) {
      if (!(err instanceof Error)) throw err;
      c.error = err;
      res = await onError(err, c);
      isError = true;
    }
    if (res && (c.finalized === false || isError)) c.res = res;
  };
  await dispatch(0);
}

/**
 * LinearRouter: Hono's default builds one regular expression of every route on the first
 * request (a cold start's cost, ~2 ms here); a linear match of our ~35 routes takes ~2 µs.
 */
export function router() {
  return new Router({ router: new LinearRouter() });
}

export const bearerAuth: Record<string, string[]>[] = [{ bearer: [] }, { offlineToken: [] }];

const ErrorBody = lazy(() =>
  z
    .object({
      error: z.object({
        code: z.string().meta({ example: "not_found" }),
        message: z.string().meta({ example: "Job 42 not found." }),
        details: z.unknown().optional(),
      }),
    })
    .meta({ id: "Error" }),
);

const DESCRIPTIONS: Record<number, string> = {
  400: "Invalid JSON or a failed validation; `details` lists the problems.",
  401: "Missing, unknown, expired or revoked token.",
  404: "Not found, or not yours.",
  409: "The resource is in a state that does not allow this.",
  413: "Body over 1 MB.",
  415: "Body is not application/json.",
  422: "Idempotency-Key reused with a different request.",
  503: "Database unavailable; retry after `Retry-After` seconds.",
};

type ErrorResponse = {
  description: string;
  content: { "application/json": { schema: ReturnType<typeof ErrorBody> } };
};

/** The error responses a route can give, for its OpenAPI entry. */
export function errors(...statuses: (keyof typeof DESCRIPTIONS)[]) {
  return Object.fromEntries(
    statuses.map((s) => [
      s,
      { description: DESCRIPTIONS[s]!, content: { "application/json": { schema: ErrorBody() } } },
    ]),
  ) as Record<number, ErrorResponse>;
}

export function json<S>(schema: S, description: string) {
  return { description, content: { "application/json": { schema } } };
}
