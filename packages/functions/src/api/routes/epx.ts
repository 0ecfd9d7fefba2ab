/**
 * The routes the `epx` Python client calls, with exactly the shapes it expects. They sit
 * on the same core functions as /api/v1. The client authenticates with
 * `Offline-Token: Bearer <token>` and does not page.
 */
import { NotFoundError } from "@fred/core/error";
import { Job } from "@fred/core/job";
import { Run, RunRequest } from "@fred/core/run";
import { Upload } from "@fred/core/upload";
import { IdParam, invalid, lazy } from "@fred/core/util";
import * as z from "zod";
import { epxClientVersion } from "../client";
import type { AppEnv } from "../env";
import { jsonList, jsonWithText } from "../json-list";
import { requireUser } from "../middleware/auth";
import { bodyText } from "../middleware/body";
import { createMiddleware } from "../middleware/create";
import { IdempotencyHeaders, idempotent } from "../middleware/idempotency";
import { bearerAuth, errors, json, router } from "../router";
import { isoTime } from "../view";
import { DELETE_DESCRIPTION, Deleted, removeJob } from "./job";

const JobQuery = lazy(() =>
  z.object({ job_id: IdParam.meta({ param: { name: "job_id", in: "query" }, example: 42 }) }),
);

/**
 * A refused token is a 403 here: the epx client raises its UnauthorizedUserError, with
 * the body's `description`, for a 403 only (a 401 reaches its user as a bare "FRED Cloud
 * error code: 401"). /api/v1 answers 401, as HTTP has it.
 */
const refusedTokenIs403 = createMiddleware<AppEnv>(async (c, next) => {
  c.set("unauthorizedStatus", 403);
  await next();
});

/** A repeated query parameter, `k=a&k=b`: Hono hands over one alone as a string. */
const repeated = <T extends z.ZodType>(list: T) =>
  z.preprocess((v) => (v === undefined || Array.isArray(v) ? v : [v]), list);

/** Tags in a query string: the job has them all. */
const TagsQuery = lazy(() =>
  repeated(z.array(Job.Tag()).max(Job.LIMITS.tags).optional()).meta({
    description: "Only jobs tagged with every one of these (repeat the parameter).",
  }),
);

/** A job as the client's `_JobDetails` reads it. */
const EpxJob = lazy(() =>
  z
    .object({
      id: z.number().int(),
      userId: z.number().int(),
      tags: z.array(z.string()),
      created: z.iso.datetime(),
    })
    .meta({ id: "EpxJob" }),
);
const epxJob = (job: Job.Info) => ({
  id: job.id,
  userId: job.userId,
  tags: job.tags,
  created: isoTime(job.timeCreated),
});

/** A day as YYYY-MM-DD, in years Postgres and JavaScript both count (no year 0, none past 9999). */
const Day = lazy(() =>
  z.iso.date().refine((d) => d >= "1900-01-01" && d <= "9998-12-31", "A day from 1900 to 9998."),
);

/** Midnight UTC of a YYYY-MM-DD day, `days` later. */
const dayStart = (day: string, days = 0) =>
  new Date(Date.parse(`${day}T00:00:00Z`) + days * 86_400_000);

/** What the client's `_DeleteOutcome` reads. */
const RunOutcome = lazy(() =>
  z.object({ runId: z.number().int(), reason: z.enum(["Success", "NotFound"]) }),
);

/** A run's status as the epx client's run model has it (see GET /runs). */
const EpxRunStatus = lazy(() => Run.Status.exclude(["Submitted"]));

export const epx = router();
for (const path of ["/jobs/*", "/runs/*"]) epx.use(path, refusedTokenIs403, requireUser);

epx.openapi(
  {
    method: "post",
    path: "/jobs/register",
    tags: ["epx client"],
    summary: "Register a job",
    security: bearerAuth,
    middleware: [idempotent] as const,
    request: () => ({
      headers: IdempotencyHeaders(),
      body: {
        content: {
          "application/json": {
            schema: z.strictObject({ tags: z.array(Job.Tag()).max(Job.LIMITS.tags).default([]) }),
          },
        },
        required: true,
      },
    }),
    responses: () => ({
      200: json(
        z.object({ id: z.number().int(), userId: z.number().int(), tags: z.array(z.string()) }),
        "The registered job",
      ),
      ...errors(400, 403, 409, 413, 415, 422, 503),
    }),
  },
  async (c) => {
    const job = await Job.create({ userId: c.get("user").id, tags: c.req.valid("json").tags });
    return c.json({ id: job.id, userId: job.userId, tags: job.tags }, 200);
  },
);

epx.openapi(
  {
    method: "get",
    path: "/jobs",
    readOnly: true,
    tags: ["epx client"],
    summary: "Your latest job (`latest=true`), optionally the latest with some tags",
    security: bearerAuth,
    request: () => ({
      query: z.object({
        latest: z.literal("true", {
          error: "Only latest=true is served here; GET /jobs/me lists your jobs.",
        }),
        tags: TagsQuery(),
      }),
    }),
    responses: () => ({
      200: json(EpxJob(), "The newest of your jobs that has the tags"),
      ...errors(400, 403, 404, 503),
    }),
  },
  async (c) => {
    const { tags } = c.req.valid("query");
    const [job] = await Job.find({ userId: c.get("user").id, tags, limit: 1 });
    if (!job) throw new NotFoundError(tags?.length ? `Job tagged ${tags.join(", ")}` : "Job");
    return c.json(epxJob(job), 200);
  },
);

epx.openapi(
  {
    method: "get",
    path: "/jobs/me",
    readOnly: true,
    tags: ["epx client"],
    summary: "Your jobs, newest first, by tags and by the day they were created",
    description: `All of them in one response, up to ${Job.LIMITS.found}: past that, a 400 asks for a narrower search.`,
    security: bearerAuth,
    request: () => ({
      query: z.object({
        tags: TagsQuery(),
        startDate: Day().optional().meta({ description: "Created on this day (UTC) or later." }),
        endDate: Day().optional().meta({ description: "Created on this day (UTC) or earlier." }),
      }),
    }),
    responses: () => ({
      200: json(z.object({ jobs: z.array(EpxJob()) }), "The jobs"),
      ...errors(400, 403, 406, 503),
    }),
  },
  async (c) => {
    const { tags, startDate, endDate } = c.req.valid("query");
    const search = {
      userId: c.get("user").id,
      tags,
      createdFrom: startDate ? dayStart(startDate) : undefined,
      createdBefore: endDate ? dayStart(endDate, 1) : undefined,
    };
    // As the run lists: compressed for a client that accepts it (10,000 jobs of 50 long
    // tags each are far more than Lambda's 6 MB), a 406 past 5 MiB for one that does not.
    return jsonList(c, "jobs", async (onPage) => onPage(await Job.find(search)), epxJob);
  },
);

epx.openapi(
  {
    method: "delete",
    path: "/jobs/{job_id}",
    tags: ["epx client"],
    summary: "Delete a job, its runs and its files (the client's job.delete())",
    description: DELETE_DESCRIPTION,
    security: bearerAuth,
    request: () => ({
      params: z.object({
        job_id: IdParam.meta({ param: { name: "job_id", in: "path" }, example: 42 }),
      }),
    }),
    responses: () => ({
      200: json(Deleted(), "The job is gone"),
      ...errors(400, 403, 404, 409, 503),
    }),
  },
  async (c) => c.json(await removeJob(c.get("user").id, c.req.valid("param").job_id), 200),
);

epx.openapi(
  {
    method: "post",
    path: "/jobs",
    tags: ["epx client"],
    summary: "A presigned PUT URL for a job's input or configuration, or one of a run's files",
    description:
      "Keys under the job's prefix: job_input.zip, job_config.json, or (context run, with runId) " +
      "run_{runId}_input.zip, run_{runId}_config.json, run_{runId}_results.zip or " +
      "run_{runId}_logs.zip. " +
      "Requesting the job input's URL moves a created job to submitted. A completed or " +
      "cancelled job takes no more uploads of its own (409); its runs' files still go.",
    security: bearerAuth,
    request: () => ({
      body: {
        content: {
          "application/json": {
            schema: Upload.IssueInput().omit({ userId: true, contentType: true }).meta({
              id: "EpxUploadRequest",
            }),
          },
        },
        required: true,
      },
    }),
    responses: () => ({
      200: json(z.object({ url: z.url() }), "Where to PUT the file"),
      ...errors(400, 403, 404, 409, 413, 415, 503),
    }),
  },
  async (c) => {
    const presigned = await Upload.issue({ ...c.req.valid("json"), userId: c.get("user").id });
    return c.json({ url: presigned.url }, 200);
  },
);

epx.openapi(
  {
    method: "post",
    path: "/runs",
    tags: ["epx client"],
    summary: `Submit runs (1..${Run.LIMITS.batch}, all or nothing)`,
    security: bearerAuth,
    middleware: [idempotent] as const,
    request: () => ({
      headers: IdempotencyHeaders(),
      body: {
        content: {
          "application/json": {
            schema: z.strictObject({
              runRequests: z.array(RunRequest()).min(1).max(Run.LIMITS.batch),
            }),
          },
        },
        required: true,
      },
    }),
    responses: () => ({
      200: json(
        z.object({
          runResponses: z.array(
            z.object({
              runId: z.number().int(),
              jobId: z.number().int(),
              status: z.literal("Submitted"),
              errors: z.null(),
              runRequest: RunRequest(),
            }),
          ),
        }),
        "The accepted runs",
      ),
      ...errors(400, 403, 404, 409, 413, 415, 422, 503),
    }),
  },
  async (c) => {
    const stored = await Run.submit.trusted({
      userId: c.get("user").id,
      runs: c.req.valid("json").runRequests,
      epxClientVersion: epxClientVersion(c),
    });
    const runResponses = stored.map((r) => ({
      runId: r.id,
      jobId: r.jobId,
      status: "Submitted" as const,
      errors: null,
      runRequest: r.request,
    }));
    return jsonWithText(c, "runResponses", runResponses, 200);
  },
);

epx.openapi(
  {
    method: "get",
    path: "/runs",
    readOnly: true,
    tags: ["epx client"],
    summary: "All of a job's runs (unpaged; /api/v1/jobs/{job_id}/runs pages)",
    security: bearerAuth,
    request: () => ({ query: JobQuery() }),
    responses: () => ({
      200: json(
        z.object({
          runs: z.array(
            z
              .object({
                id: z.number().int(),
                jobId: z.number().int(),
                userId: z.number().int(),
                createdTs: z.iso.datetime(),
                request: RunRequest(),
                podPhase: Run.PodPhase().nullable(),
                containerStatus: z.string().nullable(),
                status: EpxRunStatus(),
                userDeleted: z.boolean(),
                epxClientVersion: z.string().nullable(),
              })
              .meta({ id: "EpxRun" }),
          ),
        }),
        "The runs",
      ),
      ...errors(400, 403, 404, 406, 503),
    }),
  },
  async (c) => {
    const job = { userId: c.get("user").id, jobId: c.req.valid("query").job_id };
    return jsonList(
      c,
      "runs",
      (onPage) => Run.forEachPageOf(job, onPage),
      (r: Run.Listed) => ({
        id: r.id,
        jobId: r.jobId,
        userId: r.userId,
        createdTs: isoTime(r.timeCreated),
        request: r.request,
        podPhase: r.podPhase,
        containerStatus: r.containerStatus,
        // A run the runner has not reported on yet: the client's run model knows no
        // "Submitted" (its submission response does), and refuses the whole list for one.
        status: r.status === "Submitted" ? "QUEUED" : r.status,
        userDeleted: r.userDeleted,
        epxClientVersion: r.epxClientVersion,
      }),
    );
  },
);

/** Run ids in a query string, `id=1&id=2`. */
const RunIdsQuery = lazy(() => repeated(z.array(IdParam).min(1).max(Run.LIMITS.batch)));

epx.openapi(
  {
    method: "patch",
    path: "/runs",
    tags: ["epx client"],
    summary: "Stop runs (the client's job.stop()): each is marked deleted by its user",
    description:
      "`?id=1&id=2`. The runner stops a run marked `userDeleted`. An id that is not one of " +
      "your runs is listed in `failedIds` as NotFound; nothing else changes.",
    security: bearerAuth,
    request: () => ({ query: z.object({ id: RunIdsQuery() }) }),
    responses: () => ({
      200: json(
        z.object({
          description: z.string(),
          deletedIds: z.array(RunOutcome()),
          failedIds: z.array(RunOutcome()),
        }),
        "Which runs were stopped",
      ),
      ...errors(400, 403, 413, 415, 503),
    }),
  },
  async (c) => {
    const runIds = [...new Set(c.req.valid("query").id)];
    const stopped = new Set(await Run.stop({ userId: c.get("user").id, runIds }));
    const outcome = (reason: "Success" | "NotFound") => (runId: number) => ({ runId, reason });
    return c.json(
      {
        description: `Stopped ${stopped.size} of ${runIds.length} runs.`,
        deletedIds: runIds.filter((id) => stopped.has(id)).map(outcome("Success")),
        failedIds: runIds.filter((id) => !stopped.has(id)).map(outcome("NotFound")),
      },
      200,
    );
  },
);

const RetryBody = lazy(() =>
  z.strictObject({ runRequestIds: z.array(IdParam).min(1).max(Run.LIMITS.batch) }),
);

epx.openapi(
  {
    method: "post",
    path: "/runs/retry",
    tags: ["epx client"],
    summary: "Queue failed runs again (the retries of the client's execute(time_out=…))",
    description:
      'Body `{"runRequestIds": [1, 2]}`, or as the client sends it, form-encoded ' +
      "(`runRequestIds=1&runRequestIds=2`) under its JSON content type. Your ERROR runs " +
      "among them, of jobs that still take runs, go back to Submitted; `runRequestIds` lists them.",
    security: bearerAuth,
    responses: () => ({
      200: json(
        z.object({ status: z.literal("Submitted"), runRequestIds: z.array(z.number().int()) }),
        "The runs queued again",
      ),
      ...errors(400, 403, 413, 415, 503),
    }),
  },
  async (c) => {
    const text = await bodyText(c);
    const parsed = RetryBody().safeParse(retryFields(text));
    if (!parsed.success) throw invalid(parsed.error);
    const runIds = [...new Set(parsed.data.runRequestIds)];
    const queued = await Run.retry({ userId: c.get("user").id, runIds });
    return c.json({ status: "Submitted" as const, runRequestIds: queued }, 200);
  },
);

/** The retry body as JSON, or form-encoded (requests' `data=` under a JSON content type). */
function retryFields(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    const form = new URLSearchParams(text);
    return { runRequestIds: form.getAll("runRequestIds") };
  }
}

epx.openapi(
  {
    method: "get",
    path: "/jobs/results",
    readOnly: true,
    tags: ["epx client"],
    summary: "Presigned GET URLs for the runs whose results are uploaded",
    security: bearerAuth,
    request: () => ({ query: JobQuery() }),
    responses: () => ({
      200: json(
        z.object({ urls: z.array(z.object({ run_id: z.number().int(), url: z.url() })) }),
        "Result URLs",
      ),
      ...errors(400, 403, 404, 406, 503),
    }),
  },
  async (c) => {
    // Compressed when the client accepts it, as the epx client does: in Lambda every URL
    // carries the role's session token (~1 KB), so ~3,900 of them reach the 6 MB response
    // limit uncompressed, and the token compresses away.
    const job = { userId: c.get("user").id, jobId: c.req.valid("query").job_id };
    return jsonList(
      c,
      "urls",
      (onPage) => Upload.forEachResultsPage(job, onPage),
      (r: { runId: number; url: string }) => ({ run_id: r.runId, url: r.url }),
    );
  },
);
