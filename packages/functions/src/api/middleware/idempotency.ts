import { InvalidError } from "@fred/core/error";
import { Idempotency } from "@fred/core/idempotency";
import { lazy } from "@fred/core/util";
import * as z from "zod";
import type { AppEnv } from "../env";
import { bodyText } from "./body";
import { createMiddleware } from "./create";

export const IDEMPOTENCY_HEADER = "idempotency-key";

/** The header as the OpenAPI document shows it (the middleware below enforces it). */
export const IdempotencyHeaders = lazy(() =>
  z.object({
    [IDEMPOTENCY_HEADER]: z
      .string()
      .optional()
      .meta({
        param: { name: IDEMPOTENCY_HEADER, in: "header" },
        description:
          `Optional. Retrying with the same key and body replays the first response ` +
          `(header \`Idempotent-Replayed: true\`) and writes nothing; the same key with a ` +
          `different body is 422. Scoped to your user, kept ${Idempotency.TTL_HOURS} h. ` +
          "1..255 visible ASCII characters, e.g. a UUID.",
        example: "5f0c6a8e-3b1d-4d3e-9a57-0f6f1f9d2c11",
      }),
  }),
);

/**
 * `Idempotency-Key` for a POST that writes: runs the rest of the chain (validation and
 * handler) inside the transaction that claims the key, so the key, the writes and the
 * stored response commit together. Goes after `requireUser` (keys are per user; a write's
 * token is always checked before its route runs).
 */
export const idempotent = createMiddleware<AppEnv>(async (c, next) => {
  const key = c.req.header(IDEMPOTENCY_HEADER);
  if (key === undefined) return next();
  if (!Idempotency.Key().safeParse(key).success) {
    throw new InvalidError("Idempotency-Key must be 1 to 255 visible ASCII characters.");
  }
  const body = await bodyText(c);
  const fingerprint = Idempotency.fingerprint(c.req.method, c.req.path, canonical(body));
  const outcome = await Idempotency.once(
    { userId: c.get("user").id, key, fingerprint },
    async () => {
      await next();
      return {
        status: c.res.status,
        body: await c.res.clone().text(),
        contentType: c.res.headers.get("content-type"),
      };
    },
  );
  if (!outcome.replayed) return;
  return c.body(outcome.body, outcome.status as 200, {
    ...(outcome.contentType ? { "content-type": outcome.contentType } : {}),
    "idempotent-replayed": "true",
  });
});

/**
 * The body as "the same request" is judged: JSON with its object keys sorted, so a client
 * that re-serialises its retry differently still matches; anything else byte for byte.
 */
export function canonical(body: string): string {
  try {
    return JSON.stringify(JSON.parse(body), (_key, value: unknown) =>
      value && typeof value === "object" && !Array.isArray(value)
        ? Object.fromEntries(
            Object.entries(value as Record<string, unknown>).sort(([a], [b]) =>
              a < b ? -1 : a > b ? 1 : 0,
            ),
          )
        : value,
    );
  } catch {
    return body; // not JSON, or nested too deeply to re-serialise: compare the bytes
  }
}
