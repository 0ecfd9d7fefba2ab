/**
 * hono's own Lambda adapter (`hono/aws-lambda`), as the Lambda entry ran the app before
 * src/api/gateway/ replaced it: with Node's own Headers and Response as the globals. For
 * gateway.test.ts, which holds the two to the same answers, and for the bench's
 * "as before" row (bench/warm.ts).
 */
import { handle } from "hono/aws-lambda";
import { routedPath } from "../src/api";
import type { app as App } from "../src/api/app";
import type { RestEvent, RestResult } from "../src/api/gateway";
import { fetchClasses } from "../src/api/gateway/fetch-classes";

export const { Headers: NativeHeaders, Response: NativeResponse } = fetchClasses();

/** `work`, run with Node's own Headers and Response as the globals (gateway/ installs its own). */
export async function withNativeResponse<T>(work: () => Promise<T>): Promise<T> {
  const installed = [globalThis.Headers, globalThis.Response] as const;
  globalThis.Headers = NativeHeaders;
  globalThis.Response = NativeResponse;
  try {
    return await work();
  } finally {
    [globalThis.Headers, globalThis.Response] = installed;
  }
}

export function honoAdapter(app: typeof App) {
  const serve = handle(app);
  return (event: RestEvent, _context?: unknown): Promise<RestResult> =>
    withNativeResponse(
      () => serve({ ...event, path: routedPath(event) } as never, {} as never) as never,
    );
}
