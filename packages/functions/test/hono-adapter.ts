/**
 * hono's own Lambda adapter (`hono/aws-lambda`), as the Lambda entry ran the app before
 * src/api/gateway/ replaced it: with Node's own Response as the global. For
 * gateway.test.ts, which holds the two to the same answers, and for the bench's
 * "as before" row (bench/warm.ts).
 */
import { handle } from "hono/aws-lambda";
import { routedPath } from "../src/api";
import type { app as App } from "../src/api/app";
import { EventResponse, type RestEvent, type RestResult } from "../src/api/gateway";

export const NativeResponse = Object.getPrototypeOf(EventResponse) as typeof Response;

/** `work`, run with Node's own Response as the global (gateway.ts installs its own). */
export async function withNativeResponse<T>(work: () => Promise<T>): Promise<T> {
  const installed = globalThis.Response;
  globalThis.Response = NativeResponse;
  try {
    return await work();
  } finally {
    globalThis.Response = installed;
  }
}

export function honoAdapter(app: typeof App) {
  const serve = handle(app);
  return (event: RestEvent, _context?: unknown): Promise<RestResult> =>
    withNativeResponse(
      () => serve({ ...event, path: routedPath(event) } as never, {} as never) as never,
    );
}
