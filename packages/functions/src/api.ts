/**
 * The Lambda entry point behind API Gateway (REST, proxy integration).
 *
 * With a custom domain's base path mapping, `event.path` carries the base path
 * (`/v1/health`) while the route is the proxy part; route on the proxy part so the same
 * app answers at any mount point.
 */
import { connectEarly } from "@fred/core/drizzle";
import type { RestEvent } from "./api/gateway";

// The database connection opens while the app loads: a cold start waits for the longer of
// the two, not both. The app is part of the function's init all the same (awaited here).
connectEarly();
const [{ app }, { handle }] = await Promise.all([import("./api/app"), import("./api/gateway")]);
const serve = handle(app);

export function routedPath(event: RestEvent): string {
  if (event.resource === "/{proxy+}" && event.pathParameters?.proxy !== undefined) {
    return `/${event.pathParameters.proxy}`;
  }
  if (event.resource === "/") return "/";
  return event.path;
}

export const handler = (event: RestEvent, context?: unknown) =>
  serve({ ...event, path: routedPath(event) }, context);
