import { invalid } from "@fred/core/util";
import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "./env";
import { ErrorBody } from "./error";

/**
 * A router whose request validation failures become our 400 `invalid` error, with the
 * zod issues as details, instead of the library's default body.
 */
export function router() {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) throw invalid(result.error);
    },
  });
}

export const bearerAuth: Record<string, string[]>[] = [{ bearer: [] }, { offlineToken: [] }];

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

/** The error responses a route can give, for its OpenAPI entry. */
export function errors(...statuses: (keyof typeof DESCRIPTIONS)[]) {
  return Object.fromEntries(
    statuses.map((s) => [
      s,
      { description: DESCRIPTIONS[s]!, content: { "application/json": { schema: ErrorBody } } },
    ]),
  ) as Record<
    number,
    { description: string; content: { "application/json": { schema: typeof ErrorBody } } }
  >;
}

export function json<S>(schema: S, description: string) {
  return { description, content: { "application/json": { schema } } };
}
