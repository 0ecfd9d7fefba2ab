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
import {
  fetchClasses,
  installedFetchClasses,
  installFetchClasses,
} from "../src/api/gateway/fetch-classes";

export const { Headers: NativeHeaders, Response: NativeResponse } = fetchClasses();

/** `work`, run with Node's own Headers and Response as `Headers` and `Response` (gateway/ installs its own). */
export async function withNativeResponse<T>(work: () => Promise<T>): Promise<T> {
  const installed = installedFetchClasses();
  installFetchClasses({ Headers: NativeHeaders, Response: NativeResponse });
  try {
    return await work();
  } finally {
    installFetchClasses({
      Headers: installed.Headers ?? NativeHeaders,
      Response: installed.Response ?? NativeResponse,
    });
  }
}

export function honoAdapter(app: typeof App) {
  const serve = handle(app);
  return (event: RestEvent, _context?: unknown): Promise<RestResult> =>
    withNativeResponse(
      () => serve({ ...event, path: routedPath(event) } as never, {} as never) as never,
    );
}
