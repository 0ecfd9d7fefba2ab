import { Job } from "@fred/core/job";
import { Run } from "@fred/core/run";
import { decimal, IdParam, lazy } from "@fred/core/util";
import * as z from "zod";
import { compressedJson } from "../json-list";
import { requireUser } from "../middleware/auth";
import { IdempotencyHeaders, idempotent } from "../middleware/idempotency";
import { bearerAuth, errors, json, router } from "../router";
import { JobView, jobView, RunView, runView, UploadView, uploadView } from "../view";

const JobParams = lazy(() =>
  z.object({ job_id: IdParam.meta({ param: { name: "job_id", in: "path" }, example: 42 }) }),
);
const Cursor = lazy(() =>
  IdParam.optional().meta({ description: "`nextCursor` of the previous page." }),
);

export const jobs = router();
// Hono's "/x/*" matches "/x" too: one registration covers the collection and its items.
jobs.use("/api/v1/jobs/*", requireUser);

jobs.openapi(
  {
    method: "post",
    path: "/api/v1/jobs",
    tags: ["Jobs"],
    summary: "Create a job",
    security: bearerAuth,
    middleware: [idempotent] as const,
    request: () => ({
      headers: IdempotencyHeaders(),
      body: {
        content: {
          "application/json": {
            schema: Job.CreateInput().omit({ userId: true }).meta({ id: "CreateJob" }),
          },
        },
        required: true,
      },
    }),
    responses: () => ({
      201: json(JobView(), "The new job"),
      ...errors(400, 401, 409, 413, 415, 422, 503),
    }),
  },
  async (c) => {
    const job = await Job.create({ ...c.req.valid("json"), userId: c.get("user").id });
    return c.json(jobView(job), 201);
  },
);

jobs.openapi(
  {
    method: "get",
    path: "/api/v1/jobs",
    readOnly: true,
    tags: ["Jobs"],
    summary: "List your jobs, newest first",
    security: bearerAuth,
    request: () => ({
      query: z.object({
        limit: decimal(z.number().int().min(1).max(Job.LIMITS.pageSize)).default(20),
        cursor: Cursor(),
      }),
    }),
    responses: () => ({
      200: json(
        z.object({ jobs: z.array(JobView()), nextCursor: z.number().int().nullable() }),
        "A page of jobs",
      ),
      ...errors(400, 401, 503),
    }),
  },
  async (c) => {
    const page = await Job.list({ ...c.req.valid("query"), userId: c.get("user").id });
    return c.json({ jobs: page.items.map(jobView), nextCursor: page.nextCursor }, 200);
  },
);

jobs.openapi(
  {
    method: "get",
    path: "/api/v1/jobs/{job_id}",
    readOnly: true,
    tags: ["Jobs"],
    summary: "A job with its own uploads and a count of its runs by status",
    security: bearerAuth,
    request: () => ({ params: JobParams() }),
    responses: () => ({
      200: json(
        JobView()
          .extend({
            uploads: z.array(UploadView()).meta({
              description:
                "The job's own uploads (its input and config); a run's are listed with the run.",
            }),
            runCounts: z.record(z.string(), z.number().int()).meta({
              description: "How many of the job's runs are in each status.",
              example: { Submitted: 3, DONE: 7 },
            }),
          })
          .meta({ id: "JobDetail" }),
        "The job",
      ),
      ...errors(400, 401, 404, 503),
    }),
  },
  async (c) => {
    const { job_id } = c.req.valid("param");
    const { job, uploads, runCounts } = await Job.detail({
      userId: c.get("user").id,
      jobId: job_id,
    });
    return c.json({ ...jobView(job), uploads: uploads.map(uploadView), runCounts }, 200);
  },
);

/** What deleting a job answers, here and on the epx client's DELETE /jobs/{job_id}. */
export const Deleted = lazy(() =>
  z.object({ id: z.number().int(), deleted: z.literal(true) }).meta({ id: "JobDeleted" }),
);

/** Deletes the caller's job; what both DELETE routes answer. */
export async function removeJob(userId: number, jobId: number) {
  await Job.remove({ userId, jobId });
  return { id: jobId, deleted: true as const };
}

export const DELETE_DESCRIPTION =
  "Deletes the objects of every upload issued for the job and its runs, then the job with " +
  "its runs and uploads. A processing job is refused (409: cancel it first). A storage " +
  "failure is a 503 that deletes nothing in the database: retry.";

jobs.openapi(
  {
    method: "delete",
    path: "/api/v1/jobs/{job_id}",
    tags: ["Jobs"],
    summary: "Delete a job, its runs and its files",
    description: DELETE_DESCRIPTION,
    security: bearerAuth,
    request: () => ({ params: JobParams() }),
    responses: () => ({
      200: json(Deleted(), "The job is gone"),
      ...errors(400, 401, 404, 409, 503),
    }),
  },
  async (c) => c.json(await removeJob(c.get("user").id, c.req.valid("param").job_id), 200),
);

jobs.openapi(
  {
    method: "patch",
    path: "/api/v1/jobs/{job_id}",
    tags: ["Jobs"],
    summary: "Move a job to another status",
    description:
      "Allowed: created→submitted|cancelled, submitted→processing|cancelled, " +
      "processing→completed|failed|cancelled, failed→submitted. Anything else is 409.",
    security: bearerAuth,
    request: () => ({
      params: JobParams(),
      body: {
        content: { "application/json": { schema: z.strictObject({ status: Job.Status }) } },
        required: true,
      },
    }),
    responses: () => ({
      200: json(JobView(), "The updated job"),
      ...errors(400, 401, 404, 409, 413, 415, 503),
    }),
  },
  async (c) => {
    const job = await Job.transition({
      userId: c.get("user").id,
      jobId: c.req.valid("param").job_id,
      to: c.req.valid("json").status,
    });
    return c.json(jobView(job), 200);
  },
);

jobs.openapi(
  {
    method: "get",
    path: "/api/v1/jobs/{job_id}/runs",
    readOnly: true,
    tags: ["Runs"],
    summary: "A page of a job's runs, oldest first (keyset pagination)",
    security: bearerAuth,
    request: () => ({
      params: JobParams(),
      query: z.object({
        limit: decimal(z.number().int().min(1).max(Run.LIMITS.pageSize)).default(100),
        cursor: Cursor(),
      }),
    }),
    responses: () => ({
      200: json(
        z.object({ runs: z.array(RunView()), nextCursor: z.number().int().nullable() }),
        "A page of runs",
      ),
      ...errors(400, 401, 404, 503),
    }),
  },
  async (c) => {
    const page = await Run.list({
      ...c.req.valid("query"),
      jobId: c.req.valid("param").job_id,
      userId: c.get("user").id,
    });
    // A page of 1000 runs is ~300 KiB of JSON: compressed for clients that accept it.
    return compressedJson(c, { runs: page.items.map(runView), nextCursor: page.nextCursor });
  },
);
