import { InvalidError } from "@fred/core/error";
import { invalid, lazy } from "@fred/core/util";
import type { RouteConfig, RouteHandler } from "@hono/zod-openapi";
import type { Context, MiddlewareHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import { matchedRoutes } from "hono/route";
import { Hono } from "hono/tiny";
import { validator } from "hono/validator";
import type { ZodType } from "zod";
import * as z from "zod";
import type { AppEnv } from "./env";
import { bodyText, JSON_TYPE, MAX_BODY_BYTES } from "./middleware/body";

/**
 * A route as @hono/zod-openapi's `createRoute` takes it, except that its schemas sit behind
 * functions: `request` is built on the route's first request (to validate it), `responses`
 * only for the OpenAPI document. A cold start then builds none of them, and a process only
 * those of the routes it serves.
 */
export type LazyRoute = Omit<RouteConfig, "request" | "responses" | "hide"> & {
  request?: () => NonNullable<RouteConfig["request"]>;
  responses: () => RouteConfig["responses"];
  /**
   * The route only reads: it writes nothing (no insert, no update, no upload record), sets
   * no header itself, and uses no more of the user than its id; so does any middleware on
   * its path after `requireUser`. Such a route may run while its token is checked, and
   * answers once the check has passed (see `requireUser`). Only a GET without route
   * middleware can say so.
   */
  readOnly?: true;
};

/** The `createRoute` config a lazy route stands for: what its handler is typed against. */
export type Resolved<L extends LazyRoute> = Omit<L, "request" | "responses"> & {
  request: L["request"] extends () => infer Q ? Extract<Q, RouteConfig["request"]> : undefined;
  responses: ReturnType<L["responses"]>;
};

/**
 * A Hono router whose `openapi()` routes validate their requests as @hono/zod-openapi's
 * `OpenAPIHono.openapi()` does (the same checks, in the same order) and are listed in the
 * OpenAPI document (`definitions`), without building any schema before it is needed.
 * @hono/zod-openapi itself is loaded only to write that document.
 */
export class Router extends Hono<AppEnv> {
  /** Each route's OpenAPI definition, in registration order, built when asked for. */
  readonly definitions: (() => RouteConfig)[] = [];

  openapi<L extends LazyRoute>(route: L, handler: RouteHandler<Resolved<L>, AppEnv>): this {
    const { request, responses, middleware, readOnly, ...rest } = route;
    if (readOnly && (rest.method !== "get" || middleware)) {
      throw new Error(`${rest.method} ${rest.path}: only a GET without middleware is readOnly`);
    }
    const requestSchemas = request && lazy(request);
    const withRequest = () => (requestSchemas ? { request: requestSchemas() } : {});
    this.definitions.push(lazy(() => ({ ...rest, ...withRequest(), responses: responses() })));

    const handlers: MiddlewareHandler<AppEnv>[] = [middleware ?? []].flat() as never;
    if (requestSchemas) {
      // Built on the route's first request, then kept.
      const checks = lazy(() => validators(requestSchemas()));
      handlers.push((c, next) => chain(checks(), c, next));
    }
    const path = rest.path.replaceAll(/\/{(.+?)}/g, "/:$1");
    this.on([rest.method.toUpperCase()], [path], ...handlers, handler as MiddlewareHandler<AppEnv>);
    if (readOnly) readOnlyRoutes.add(`${rest.method.toUpperCase()} ${path}`);
    return this;
  }

  /** Mounts a group's routes at the root, and its OpenAPI definitions with them. */
  include(group: Router): this {
    this.route("/", group);
    this.definitions.push(...group.definitions);
    return this;
  }
}

/** `GET /api/v1/jobs/:job_id`: the routes declared `readOnly`, by method and path. */
const readOnlyRoutes = new Set<string>();

/**
 * Whether the route a request matched is declared `readOnly`, and so is every handler
 * registered for its method and path (HEAD matches GET routes; `use()` middleware is ALL).
 */
export function isReadOnlyRoute(c: Context): boolean {
  const routes = matchedRoutes(c).filter((r) => r.method !== "ALL");
  return routes.length > 0 && routes.every((r) => readOnlyRoutes.has(`${r.method} ${r.path}`));
}

type Checks = MiddlewareHandler<AppEnv>[];

/** Runs middleware one after another, then `next`: one step of the route's own chain. */
async function chain(checks: Checks, ...[c, next]: Parameters<MiddlewareHandler<AppEnv>>) {
  const step = async (i: number): Promise<void> => {
    const check = checks[i];
    await (check ? check(c, () => step(i + 1)) : next());
  };
  await step(0);
}

/**
 * A route's request validators, as @hono/zod-openapi builds them: query, path, headers
 * (their schemas name them in lower case, as Hono gives them), then a JSON body (415 for a
 * body declared JSON and sent as another media type; an optional body that is absent
 * validates as `{}`). A failure is our 400 `invalid`. Cookies and other media types are
 * not supported (none of our routes takes them).
 */
function validators(request: NonNullable<RouteConfig["request"]>): Checks {
  const others = Object.keys(request.body?.content ?? {}).filter((t) => t !== "application/json");
  if (request.cookies || others.length) {
    // @hono/zod-openapi would validate these; this router does not, so say so loudly.
    throw new Error(`Unvalidated request parts: ${[request.cookies && "cookies", ...others]}`);
  }
  const list: Checks = [];
  const parts = [
    ["query", request.query],
    ["param", request.params],
    ["header", request.headers],
  ] as const;
  for (const [target, schema] of parts) if (schema) list.push(check(target, schema as ZodType));
  const media = request.body?.content["application/json"] as { schema?: ZodType } | undefined;
  const body = media?.schema;
  if (!body) return list;
  const json = check("json", body);
  list.push(async (c, next) => {
    const type = c.req.header("content-type");
    const isJson = type !== undefined && JSON_TYPE.test(type);
    if (type !== undefined && !isJson) {
      throw new HTTPException(415, { message: "Send the body as application/json." });
    }
    if (isJson) {
      refuseProtoKey(await bodyText(c));
      return json(c, next);
    }
    // No body: JSON_TYPE's middleware has refused one that is not JSON.
    if (request.body?.required) {
      throw new InvalidError("This route takes a JSON body (Content-Type: application/json).");
    }
    c.req.addValidatedData("json", {});
    await next();
  });
  return list;
}

/**
 * A body with the key `__proto__` is refused: JSON.parse keeps it as an own key, but a zod
 * record drops it as it copies (so that it cannot set a prototype), as would any code that
 * copies an object by assignment: part of what was sent would vanish unseen. Parsed with a
 * reviver (6 ms for a 1000-run batch, where the scan takes 0.07) only when the text holds
 * the string, in any spelling of its escapes; a malformed body is left to the JSON parse
 * that follows.
 */
function refuseProtoKey(text: string) {
  if (!PROTO_STRING.test(text)) return;
  const found = new Error();
  try {
    JSON.parse(text, (key, value) => {
      if (key === "__proto__") throw found;
      return value;
    });
  } catch (error) {
    if (error === found) throw new InvalidError('JSON bodies may not use the key "__proto__".');
    // The reviver recurses where JSON.parse does not: deep nesting overflows it.
    if (!(error instanceof SyntaxError))
      throw new InvalidError("The JSON body is nested too deeply.");
  }
}

const PROTO_STRING =
  /"(?:_|\\u005[fF]){2}(?:p|\\u0070)(?:r|\\u0072)(?:o|\\u006[fF])(?:t|\\u0074)(?:o|\\u006[fF])(?:_|\\u005[fF]){2}"/;

function check(target: "query" | "param" | "header" | "json", schema: ZodType) {
  return validator(target, (value) => {
    // Synchronously: the async parse costs every request its promises. Ours have no async
    // refinements (one would throw here, in its route's first test).
    const result = schema.safeParse(value);
    if (!result.success) throw invalid(result.error);
    return result.data as Record<string, unknown>;
  }) as MiddlewareHandler<AppEnv>;
}

/**
 * PatternRouter (hono/tiny's Hono, which leaves Hono's other routers out of the bundle):
 * Hono's default builds one regular expression of every route on the first request (a cold
 * start's cost, ~2.5 ms here). PatternRouter builds a small one per route
 * as it is added and matches any of our paths in ~1 µs; LinearRouter, which re-splits every
 * route's pattern on every match, took 3 µs for POST /api/v1/runs and 20 µs for a job's
 * path (measured on our ~55 routes and middleware entries, at the same import cost).
 */
export function router() {
  return new Router();
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
      description: z.string().meta({
        example: "Job 42 not found.",
        description: "The message again (the epx client reads it).",
      }),
    })
    .meta({ id: "Error" }),
);

const DESCRIPTIONS: Record<number, string> = {
  400: "Invalid JSON (not UTF-8, missing where required, or using the key `__proto__`) or a failed validation; `details` lists the problems.",
  401: "Missing, unknown, expired or revoked token.",
  403: "Missing, unknown, expired or revoked token (the epx client's routes answer 403, as the epx client expects, where /api/v1 answers 401).",
  404: "Not found, or not yours.",
  406: "The list is over 5 MiB as Lambda returns it (the JSON escaped once more): send `Accept-Encoding: gzip` to receive it compressed.",
  409: "The resource is in a state that does not allow this.",
  413: `Body over ${MAX_BODY_BYTES / 1024 / 1024} MiB.`,
  415: "Body is not application/json.",
  422: "Idempotency-Key reused with a different request.",
  503: "Database or storage unavailable; retry after `Retry-After` seconds.",
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
