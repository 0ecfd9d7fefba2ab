import { Run, RunRequest } from "@fred/core/run";
import { Upload } from "@fred/core/upload";
import { IdParam, lazy } from "@fred/core/util";
import * as z from "zod";
import { epxClientVersion } from "../client";
import { jsonWithText } from "../json-list";
import { requireUser } from "../middleware/auth";
import { IdempotencyHeaders, idempotent } from "../middleware/idempotency";
import { bearerAuth, errors, json, router } from "../router";
import { PresignedView, presignedView, RunView, runView, UploadView, uploadView } from "../view";

const RunParams = lazy(() =>
  z.object({ run_id: IdParam.meta({ param: { name: "run_id", in: "path" }, example: 7 }) }),
);

export const runs = router();
runs.use("/api/v1/runs/*", requireUser);

runs.openapi(
  {
    method: "post",
    path: "/api/v1/runs",
    tags: ["Runs"],
    summary: `Submit one run, or a batch of 1..${Run.LIMITS.batch} (all or nothing)`,
    security: bearerAuth,
    middleware: [idempotent] as const,
    request: () => ({
      headers: IdempotencyHeaders(),
      body: {
        content: {
          "application/json": {
            schema: z.union([
              RunRequest().meta({ id: "RunRequest" }),
              z
                .strictObject({ runs: z.array(RunRequest()).min(1).max(Run.LIMITS.batch) })
                .meta({ id: "RunBatch" }),
            ]),
          },
        },
        required: true,
      },
    }),
    responses: () => ({
      201: json(z.union([RunView(), z.object({ runs: z.array(RunView()) })]), "The stored run(s)"),
      ...errors(400, 401, 404, 409, 413, 415, 422, 503),
    }),
  },
  async (c) => {
    const body = c.req.valid("json");
    const batch = "runs" in body;
    const stored = await Run.submit.trusted({
      userId: c.get("user").id,
      runs: batch ? body.runs : [body],
      epxClientVersion: epxClientVersion(c),
    });
    return batch
      ? jsonWithText(c, "runs", stored.map(runView), 201)
      : jsonWithText(c, runView(stored[0]!), 201);
  },
);

runs.openapi(
  {
    method: "get",
    path: "/api/v1/runs/{run_id}",
    readOnly: true,
    tags: ["Runs"],
    summary: "A run with its uploads",
    security: bearerAuth,
    request: () => ({ params: RunParams() }),
    responses: () => ({
      200: json(
        RunView()
          .extend({ uploads: z.array(UploadView()) })
          .meta({ id: "RunDetail" }),
        "The run, and the uploads issued for it (config, input, results, logs)",
      ),
      ...errors(400, 401, 404, 503),
    }),
  },
  async (c) => {
    const ref = { userId: c.get("user").id, runId: c.req.valid("param").run_id };
    const { run, uploads } = await Run.detail(ref);
    return c.json({ ...runView(run), uploads: uploads.map(uploadView) }, 200);
  },
);

runs.openapi(
  {
    method: "patch",
    path: "/api/v1/runs/{run_id}",
    tags: ["Runs"],
    summary: "Report a run's progress (the simulation runner's call)",
    security: bearerAuth,
    request: () => ({
      params: RunParams(),
      body: {
        content: {
          "application/json": {
            schema: z
              .strictObject({
                status: Run.Status.optional(),
                podPhase: Run.PodPhase().nullable().optional(),
                containerStatus: z.string().max(256).nullable().optional(),
                userDeleted: z.boolean().optional(),
                resultsUploaded: z
                  .literal(true)
                  .optional()
                  .meta({
                    description:
                      "Set once the results object is in S3 (checked: before it is there, a " +
                      "409); the run then appears in /jobs/results.",
                  }),
              })
              .meta({ id: "RunUpdate" }),
          },
        },
        required: true,
      },
    }),
    responses: () => ({
      200: json(RunView(), "The updated run"),
      ...errors(400, 401, 404, 409, 413, 415, 503),
    }),
  },
  async (c) => {
    const ref = { userId: c.get("user").id, runId: c.req.valid("param").run_id };
    const changes = c.req.valid("json");
    if (changes.resultsUploaded) await Upload.assertResultsStored(ref);
    const run = await Run.update({ ...changes, ...ref });
    return c.json(runView(run), 200);
  },
);

runs.openapi(
  {
    method: "get",
    path: "/api/v1/runs/{run_id}/upload-url",
    tags: ["Uploads"],
    summary: "A presigned S3 PUT URL for one of the run's artifacts",
    description:
      "The URL is bound to one key and expires (15 minutes by default). Send exactly the " +
      "`headers` returned with the PUT. Naming a `contentType` binds it into the signature.",
    security: bearerAuth,
    request: () => ({
      params: RunParams(),
      query: z.object({
        type: Upload.Type.default("config"),
        contentType: Upload.IssueInput().shape.contentType,
      }),
    }),
    responses: () => ({
      200: json(PresignedView(), "Where to PUT the artifact"),
      ...errors(400, 401, 404, 503),
    }),
  },
  async (c) => {
    const userId = c.get("user").id;
    const { type, contentType } = c.req.valid("query");
    const runId = c.req.valid("param").run_id;
    const presigned = await Upload.issueForRun({ userId, runId, type, contentType });
    return c.json(presignedView(presigned), 200);
  },
);
