/**
 * The OpenAPI 3.1 document of every route, generated from the routes' own definitions (the
 * zod schemas that validate requests, and the response schemas). `pnpm openapi` writes it to
 * OPENAPI_FILE, which /openapi.json serves; the Lambda never loads this module.
 */
import { fileURLToPath } from "node:url";
import { Job } from "@fred/core/job";
import { Run } from "@fred/core/run";
import { OpenAPIHono, type RouteConfig } from "@hono/zod-openapi";
import pkg from "../../package.json" with { type: "json" };
import { MAX_BODY_BYTES } from "./middleware/body";

export const OPENAPI_FILE = fileURLToPath(new URL("./openapi.json", import.meta.url));

/** The document as OPENAPI_FILE holds it. */
export function renderOpenApi(routes: (() => RouteConfig)[]): string {
  return `${JSON.stringify(openApiDocument(routes), null, 2)}\n`;
}

export function openApiDocument(routes: (() => RouteConfig)[]) {
  const doc = new OpenAPIHono();
  for (const route of routes) doc.openAPIRegistry.registerPath(route());
  doc.openAPIRegistry.registerComponent("securitySchemes", "bearer", {
    type: "http",
    scheme: "bearer",
    description: "`Authorization: Bearer epx_…` — an API token from your operator.",
  });
  doc.openAPIRegistry.registerComponent("securitySchemes", "offlineToken", {
    type: "apiKey",
    in: "header",
    name: "Offline-Token",
    description: "`Offline-Token: Bearer epx_…` — what the epx client sends.",
  });
  return doc.getOpenAPI31Document({
    openapi: "3.1.0",
    info: {
      title: "FRED platform API",
      version: pkg.version,
      description:
        "Register jobs, upload inputs with presigned S3 URLs, submit batches of FRED runs and " +
        "poll them. Errors are JSON `{error: {code, message, details?}, description}` " +
        "(`description` repeats the message, for the epx client). Limits: bodies " +
        `${MAX_BODY_BYTES / 1024 / 1024} MiB, ${Run.LIMITS.batch} runs per batch, ` +
        `${Job.LIMITS.tags} tags of ${Job.LIMITS.tagLength} characters per job, pages of at ` +
        `most ${Job.LIMITS.pageSize} jobs or ${Run.LIMITS.pageSize} runs.`,
    },
  });
}
