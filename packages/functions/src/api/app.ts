/**
 * The Hono app: one definition served three ways — by Lambda behind API Gateway
 * (../api.ts), by Node locally (../local.ts), and by `app.request()` in tests.
 */
import type { MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import { errorResponse, onError } from "./error";
import { limitBody, requireJson } from "./middleware/body";
import { corsFromAllowList } from "./middleware/cors";
import { requestContext } from "./middleware/request";
import { router } from "./router";
import { admin } from "./routes/admin";
import { epx } from "./routes/epx";
import { health } from "./routes/health";
import { jobs } from "./routes/job";
import { registration } from "./routes/registration";
import { runs } from "./routes/run";

export function createApp() {
  const app = router();
  // 405 before auth: a wrong method is wrong whoever asks.
  let allow: ((path: string) => string[]) | undefined;
  app.use("*", requestContext, corsFromAllowList(), async (c, next) => {
    // A route for this method matched: nothing to check (the common case, kept cheap).
    // Hono serves HEAD with the GET route; middleware on a `*` path is no route.
    const method = c.req.method === "HEAD" ? "GET" : c.req.method;
    if (matchedRoutes(c).some((r) => r.method === method && !r.path.includes("*"))) return next();
    allow ??= allowedMethods(app.routes);
    const methods = allow(c.req.path);
    if (methods.length && !methods.includes(c.req.method)) {
      c.header("Allow", methods.join(", "));
      return errorResponse(c, 405, "method_not_allowed", `${c.req.method} is not allowed here.`, {
        allowed: methods,
      });
    }
    await next();
  });
  app.use("*", limitBody, requireJson);

  for (const group of [health, registration, jobs, runs, admin, epx]) app.include(group);

  // Neither is needed by any other request: both load on their first request. The document
  // is generated from the routes by `pnpm openapi` (./openapi.ts; a test fails when stale).
  app.get("/openapi.json", async (c) =>
    c.json((await import("./openapi.json", { with: { type: "json" } })).default),
  );
  let reference: Promise<MiddlewareHandler> | undefined;
  app.get("/docs", async (c, next) => {
    // The page loads Scalar's renderer from jsDelivr, the version pinned (unpinned, every
    // visit ran whatever Scalar published last).
    reference ??= import("@scalar/hono-api-reference").then(({ Scalar }) =>
      Scalar({ url: "./openapi.json", pageTitle: "FRED platform API", bundle: SCALAR_BUNDLE }),
    );
    return (await reference)(c, next);
  });

  app.notFound((c) =>
    errorResponse(c, 404, "not_found", `No route for ${c.req.method} ${c.req.path.slice(0, 200)}.`),
  );
  app.onError(onError);
  return app;
}

/** The API reference renderer /docs loads (@scalar/api-reference's ESM build). */
export const SCALAR_BUNDLE = "https://cdn.jsdelivr.net/npm/@scalar/api-reference@1.71.0/esm.js";

/** For a path, the methods some route serves there (to answer 405 with `Allow`). */
function allowedMethods(routes: { method: string; path: string }[]) {
  const table = routes
    .filter((r) => r.method !== "ALL" && !r.path.includes("*"))
    .map((r) => ({
      method: r.method,
      // Path parameters are ids, decimal digits: /jobs/me is not a /jobs/{job_id}.
      pattern: new RegExp(`^${r.path.replace(/:[^/]+/g, "[0-9]+")}/?$`),
    }));
  return (path: string) => {
    const methods = new Set(table.filter((r) => r.pattern.test(path)).map((r) => r.method));
    if (methods.has("GET")) methods.add("HEAD");
    if (methods.size) methods.add("OPTIONS");
    return [...methods];
  };
}

export const app = createApp();
export type App = typeof app;
