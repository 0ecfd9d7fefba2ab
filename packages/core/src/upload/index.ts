import { eq, notInArray, sql } from "drizzle-orm";
import * as z from "zod";
import { pgCode, prepared, statement, useTransaction } from "../drizzle";
import { ownRow } from "../drizzle/types";
import { ConflictError, InvalidError, NotFoundError } from "../error";
import { Job } from "../job";
import { jobTable } from "../job/job.sql";
import { Run } from "../run";
import { runTable } from "../run/run.sql";
import { fn, Id, lazy, Text } from "../util";
import { objectExists, presignGet, presignPut } from "./s3";
import { uploadContext, uploadTable, uploadType } from "./upload.sql";

export type { Presigned } from "./s3";

export namespace Upload {
  export const Context = z.enum(uploadContext.enumValues);
  export const Type = z.enum(uploadType.enumValues);
  export type Type = z.infer<typeof Type>;
  export type Info = typeof uploadTable.$inferSelect;

  /**
   * Every artifact of a job lives under one prefix derived from the job's creation time:
   * `jobs/{jobId}/{yyyy}/{mm}/{dd}/{HHMMSS}/`.
   */
  export function prefix(job: { id: number; timeCreated: Date }): string {
    const iso = job.timeCreated.toISOString(); // 2026-11-23T06:28:33.000Z
    const [yyyy, mm, dd] = iso.slice(0, 10).split("-");
    const hhmmss = iso.slice(11, 19).replaceAll(":", "");
    return `jobs/${job.id}/${yyyy}/${mm}/${dd}/${hhmmss}/`;
  }

  const FILE: Record<"job" | "run", Partial<Record<Type, (runId?: number) => string>>> = {
    job: { input: () => "job_input.zip", config: () => "job_config.json" },
    run: {
      input: (id) => `run_${id}_input.zip`,
      config: (id) => `run_${id}_config.json`,
      results: (id) => `run_${id}_results.zip`,
      logs: (id) => `run_${id}_logs.zip`,
    },
  };

  export const IssueInput = lazy(() =>
    z.strictObject({
      userId: Id,
      jobId: Id,
      runId: Id.optional(),
      context: Context,
      type: Type,
      contentType: Text(255)
        .regex(/^[\w.+-]+\/[\w.+-]+$/, "Expected a MIME type such as application/zip.")
        .optional(),
    }),
  );

  /**
   * A presigned PUT for one of a job's artifacts, recorded so every object has an owner.
   * Issuing the URL for a job's input moves a `created` job to `submitted`; a completed or
   * cancelled job takes no more of its own (a 409).
   */
  export const issue = fn(IssueInput, async (input) => {
    const { userId, jobId, runId } = input;
    if (input.context === "run" && runId !== undefined) {
      // Both in one round trip; the job's 404 comes first, as it is answered first.
      const [job, run] = await Promise.all([
        Job.get({ userId, jobId }),
        Run.get({ userId, runId }),
      ]);
      if (run.jobId !== job.id) {
        throw new InvalidError(`Run ${run.id} does not belong to job ${job.id}.`);
      }
      return record(input, job, run.id);
    }
    const job = await Job.get({ userId, jobId }); // a missing job is a 404 either way
    if (input.context === "job") {
      // A run's uploads stay open: its runner may still be finishing when the job closes.
      if (Job.CLOSED.includes(job.status)) throw closed(job);
      return record(input, job, undefined);
    }
    throw new InvalidError("runId is required for a run upload.");
  });

  /** A run of the user's, with what its uploads' keys need of its job: one read. */
  const runWithJob = prepared((on) =>
    on
      .select({ runId: runTable.id, jobId: jobTable.id, jobCreated: jobTable.timeCreated })
      .from(runTable)
      .innerJoin(jobTable, eq(jobTable.id, runTable.jobId))
      .where(ownRow(runTable, "runId"))
      .prepare("run_with_job"),
  );

  /** `issue` for one of a run's artifacts, when the caller knows only the run. */
  export const issueForRun = fn(
    () => IssueInput().omit({ jobId: true, context: true }).required({ runId: true }),
    async (input) => {
      const [row] = await runWithJob({ runId: input.runId, userId: input.userId });
      if (!row) throw new NotFoundError("Run", input.runId);
      const job = { id: row.jobId, timeCreated: row.jobCreated };
      return record({ ...input, context: "run" }, job, row.runId);
    },
  );

  const closed = (job: Pick<Job.Info, "id" | "status">) =>
    new ConflictError(`Job ${job.id} is ${job.status} and takes no more uploads.`);

  /**
   * A job's own upload, recorded in ONE statement and only while the job is open: the job
   * is locked FOR NO KEY UPDATE (a status change in flight is waited for; one that closed
   * the job leaves nothing inserted, where the foreign key's check alone would not wait),
   * and the job input's upload moves a created job to submitted in the same statement.
   */
  const recordForJob = statement(
    (bind) => sql`
      with open as (
        select ${jobTable.id} as id from ${jobTable}
        where ${jobTable.id} = ${bind("jobId")} and ${notInArray(jobTable.status, [...Job.CLOSED])}
        for no key update
      ), issued as (
        insert into ${uploadTable} (job_id, context, type, key, content_type, time_expires)
        select id, 'job'::${sql.identifier(uploadContext.enumName)},
               ${bind("type")}::${sql.identifier(uploadType.enumName)}, ${bind("key")},
               ${bind("contentType")}, ${bind("expires")}::timestamptz
        from open
        returning id
      ), submitted as (
        update ${jobTable} set status = 'submitted', time_updated = now()
        from issued
        where ${jobTable.id} = ${bind("jobId")} and ${jobTable.status} = 'created'
          and ${bind("submits")}::boolean
      )
      select id from issued`,
  );

  async function record(
    input: { userId: number; context: "job" | "run"; type: Type; contentType?: string | undefined },
    job: Pick<Job.Info, "id" | "timeCreated">,
    runId: number | undefined,
  ) {
    const name = FILE[input.context][input.type]?.(runId);
    if (!name) {
      throw new InvalidError(`A ${input.context} upload cannot be of type ${input.type}.`, {
        allowed: Object.keys(FILE[input.context]),
      });
    }
    const key = prefix(job) + name;
    // Presigning is local computation, done before the write: a failure stores nothing.
    const presigned = await presignPut(key, input.contentType);
    if (input.context === "job") {
      const issued = await recordForJob({
        jobId: job.id,
        type: input.type,
        key,
        contentType: input.contentType ?? null,
        expires: presigned.expiresAt.toISOString(),
        submits: input.type === "input",
      });
      if (!issued.length) throw closed(await Job.get({ userId: input.userId, jobId: job.id }));
      return presigned;
    }
    // A run's upload references its run and job: deleted meanwhile (Job.remove), it is gone.
    await useTransaction(async (on) => {
      const insert = on.insert(uploadTable).values({
        jobId: job.id,
        runId: runId ?? null,
        context: input.context,
        type: input.type,
        key,
        contentType: input.contentType ?? null,
        timeExpires: presigned.expiresAt,
      });
      // What the upload changes goes in the same statement, after the insert as a CTE:
      // all or nothing with no transaction, one round trip where BEGIN … COMMIT took four.
      const then = on.with(on.$with("issued").as(insert.returning({ id: uploadTable.id })));
      if (runId !== undefined && input.type === "results") {
        await Run.setResultsKey(then, runId, key);
      } else {
        await insert;
      }
    }).catch((error: unknown) => {
      if (pgCode(error) === "23503") throw new NotFoundError("Job", job.id);
      throw error;
    });
    return presigned;
  }

  /**
   * Refuses to mark a run's results uploaded (Run.update's `resultsUploaded`) until they
   * are in S3: otherwise /jobs/results would hand out a URL that answers 404. Nothing
   * deletes an object, so what is there now stays there.
   */
  export const assertResultsStored = fn(Run.Ref, async (input) => {
    const run = await Run.get(input);
    // No results upload issued at all: Run.update refuses that itself.
    if (run.resultsKey && !(await objectExists(run.resultsKey))) {
      throw new ConflictError(
        `Run ${run.id}'s results are not in storage yet: PUT them to the URL issued for ${run.resultsKey} first.`,
      );
    }
  });

  /** Presigned GETs written per page: presigning 100,000 takes seconds, the list not much. */
  export const RESULTS_PAGE = 1000;

  /**
   * Presigned GETs for the job's runs whose results are uploaded, handed to `onPage`
   * RESULTS_PAGE at a time (awaited), in run order. A NotFoundError if the job is not the
   * user's.
   */
  export async function forEachResultsPage(
    input: { userId: number; jobId: number },
    onPage: (urls: { runId: number; url: string }[]) => Promise<void>,
  ): Promise<void> {
    const runs = await Run.withResults(input);
    for (let i = 0; i < runs.length; i += RESULTS_PAGE) {
      const page = runs.slice(i, i + RESULTS_PAGE);
      await onPage(
        await Promise.all(
          page.map(async (run) => ({
            runId: run.id,
            url: (await presignGet(run.resultsKey!)).url,
          })),
        ),
      );
    }
  }
}
