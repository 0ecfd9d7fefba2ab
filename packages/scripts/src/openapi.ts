/**
 * `pnpm openapi`: writes the OpenAPI document that /openapi.json serves
 * (packages/functions/src/api/openapi.json), generated from the routes' own definitions.
 * Generated here rather than in the Lambda: @hono/zod-openapi needs all of zod, and sharing
 * that with the request path made every cold start load ~100 KiB more. A test fails when the
 * committed document and the routes disagree.
 */
import { writeFile } from "node:fs/promises";
import { app } from "@fred/functions/api/app";
import { OPENAPI_FILE, renderOpenApi } from "@fred/functions/api/openapi";

await writeFile(OPENAPI_FILE, renderOpenApi(app.definitions));
console.log(`[openapi] wrote ${OPENAPI_FILE}`);
