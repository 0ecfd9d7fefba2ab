/**
 * The Lambda entry point behind API Gateway (REST, proxy integration).
 *
 * With a custom domain's base path mapping, `event.path` carries the base path
 * (`/v1/health`) while the route is the proxy part; route on the proxy part so the same
 * app answers at any mount point.
 */
import { connectEarly } from "@fred/core/drizzle";
import { handle, type LambdaContext, type LambdaEvent } from "hono/aws-lambda";

// The database connection opens while the app loads: a cold start waits for the longer of
// the two, not both. The app is part of the function's init all the same (awaited here).
connectEarly();
const { app } = await import("./api/app");
const serve = handle(app);

type APIGatewayProxyEvent = Extract<LambdaEvent, { resource: string; httpMethod: string }>;

export function routedPath(event: APIGatewayProxyEvent): string {
  if (event.resource === "/{proxy+}" && event.pathParameters?.proxy !== undefined) {
    return `/${event.pathParameters.proxy}`;
  }
  if (event.resource === "/") return "/";
  return event.path;
}

export const handler = (event: APIGatewayProxyEvent, context: LambdaContext) =>
  serve({ ...event, path: routedPath(event) }, context);
