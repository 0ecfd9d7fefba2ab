import {
  and,
  type Column,
  eq,
  getTableColumns,
  inArray,
  is,
  isNotNull,
  notInArray,
  SQL,
  sql,
} from "drizzle-orm";
import { PgDialect } from "drizzle-orm/pg-core";
import * as z from "zod";
import {
  createTransaction,
  db,
  forEachPage,
  fromRow,
  prepared,
  statement,
  type Updater,
  useTransaction,
} from "../drizzle";
import { keysetWithin, ownRow, qualified } from "../drizzle/types";
import { ConflictError, NotFoundError } from "../error";
import { Job } from "../job";
import { jobTable, ownedJob } from "../job/job.sql";
import { uploadsJson, uploadTable } from "../upload/upload.sql";
import { fn, Id, invalid, JsonText, keysetPage, lazy, Text } from "../util";
import { RunRequest } from "./request";
import { podPhases, runStatus, runTable } from "./run.sql";

export { RunRequest } from "./request";

export namespace Run {
  export const Status = z.enum(runStatus.enumValues);
  export type Status = z.infer<typeof Status>;
  export const PodPhase = lazy(() => z.enum(podPhases));
  export type Info = typeof runTable.$inferSelect;
  /** A run as submitted, its request the JSON text that was stored (as `Listed`'s). */
  export type Submitted = Omit<Info, "request"> & { request: JsonText<RunRequest> };

  /**
   * A batch as large as the epx client's jobs get (it sends all of a job's runs in one
   * request): 5,000 runs, within the body limit (MAX_BODY_BYTES, 2 MiB). Lambda caps an
   * event and its answer at 6 MB each; both fit, whatever the text
   * (packages/functions/test/lambda.test.ts).
   */
  export const LIMITS = { batch: 5000, pageSize: 1000 } as const;

  export const SubmitInput = lazy(() =>
    z.strictObject({
      userId: Id,
      runs: z.array(RunRequest()).min(1).max(LIMITS.batch),
      epxClientVersion: Text(64).optional(),
    }),
  );

  /**
   * A new run's other columns. What Postgres computes for it is its id and its times, whose
   * default is `now()`: one instant for the whole statement, read back once. The rest are
   * known without reading them (a plain default, such as the status, or null). A column
   * computed any other way would have to be read back row by row: refused here, so that
   * adding one fails every submission (and its tests) instead of returning a wrong value.
   */
  const unwritten = lazy(() => {
    // The columns a submission writes, from its input.
    const written: Column[] = [
      runTable.id,
      runTable.jobId,
      runTable.userId,
      runTable.request,
      runTable.epxClientVersion,
    ];
    const dialect = new PgDialect();
    const atNow: string[] = [];
    const known: Record<string, unknown> = {};
    for (const [key, c] of Object.entries(getTableColumns(runTable) as Record<string, Column>)) {
      if (written.includes(c)) continue;
      if (is(c.default, SQL) && dialect.sqlToQuery(c.default).sql === "now()") atNow.push(key);
      else if (
        c.generatedIdentity ||
        c.generated ||
        c.defaultFn ||
        c.onUpdateFn ||
        is(c.default, SQL)
      )
        throw new Error(`run.${c.name} is computed on insert: Run.submit does not read it back.`);
      else known[key] = c.hasDefault ? c.default : null;
    }
    return { atNow, known };
  });

  // The jobs are matched with `= any(array(…))`, not `in (select …)`: the planner knows the
  // array's length and looks them up by id. For the subquery it guessed 100 rows, and from a
  // few thousand jobs in the table it read all of them on every submission. Each run's job
  // comes as a list beside the runs (ROWS FROM zips the two), not read out of its JSON.
  //
  // The jobs are locked FOR NO KEY UPDATE, not FOR SHARE: two batches for one job take
  // their turns, so a job's run ids are drawn in the order their batches commit. Under FOR
  // SHARE a batch could commit after a later one with higher ids, behind the cursor of a
  // client paging through the job's runs (GET /api/v1/jobs/{id}/runs), who then never saw
  // them. In id order, so that batches naming the same jobs cannot deadlock. A job's status
  // change still waits for a batch, and a batch for it, as under FOR SHARE.
  //
  // What comes back is one row: the new ids in order, their jobs in the same order (to
  // check the pairing with the requests) and the statement's now(). Returned row by row, a
  // 1000-run batch sent, parsed and mapped 1000 rows (2000 timestamps among them) for what
  // this row says.
  const insertRuns = statement(
    (bind) => sql`
      with open as (
        select ${jobTable.id} from ${jobTable}
        where ${jobTable.id} = any(array(select json_array_elements_text(${bind("jobIds")}::json)::bigint))
          and ${jobTable.userId} = ${bind("userId")}
          and ${notInArray(jobTable.status, [...Job.CLOSED])}
        order by ${jobTable.id}
        for no key update
      ), stored as (
        insert into ${runTable} (job_id, user_id, request, epx_client_version)
        select r.job_id, ${bind("userId")}, r.run, ${bind("epxClientVersion")}
        from rows from (
          json_array_elements(${bind("runs")}::json),
          unnest(string_to_array(${bind("runJobIds")}, ',')::bigint[])
        ) with ordinality as r(run, job_id, n)
        where (select count(*) from open) = ${bind("jobCount")}
        order by r.n
        returning id, job_id
      )
      select array_to_string(array_agg(id order by id), ',') as ids,
             array_to_string(array_agg(job_id order by id), ',') as job_ids,
             now() as now
      from stored`,
  );

  /**
   * Submits a batch as ONE statement, so it is stored whole or not at all without a
   * transaction's extra round trips: the caller's jobs that still accept runs are locked
   * (a concurrent cancel waits for it, as does another batch for the same job), and the
   * runs go in only if every job named is among them. The runs travel as one json array parameter, not an array literal
   * built in JS. Ids follow the batch's order.
   *
   * Each request is stringified once: the parameter lists the texts, and each run hands
   * its own on, for a response to write as it is (a stringify of the list, and then of the
   * response with the requests in it, took ~0.6 ms more per 1000 runs).
   */
  export const submit = fn(SubmitInput, async (input) => {
    const { atNow, known } = unwritten(); // before anything is stored, should it refuse
    const jobIds = [...new Set(input.runs.map((r) => r.jobId))];
    const runJobIds = input.runs.map((r) => r.jobId).join(",");
    const requests = input.runs.map((r) => JSON.stringify(r));
    const [row] = await insertRuns({
      jobIds: JSON.stringify(jobIds),
      userId: input.userId,
      epxClientVersion: input.epxClientVersion ?? null,
      runs: `[${requests.join(",")}]`,
      runJobIds,
      jobCount: jobIds.length,
    });
    const ids = row?.ids as string | null | undefined;
    if (!ids) return refuse(input.userId, jobIds);
    // Ids were drawn in the batch's order (ORDER BY r.n), so ascending ids pair with the
    // input; and so do their jobs.
    if (row!.job_ids !== runJobIds) throw new Error("Runs paired with the wrong requests.");
    const now = runTable.timeCreated.mapFromDriverValue(row!.now as string);
    const shared: Record<string, unknown> = {
      ...known,
      userId: input.userId,
      epxClientVersion: input.epxClientVersion ?? null,
    };
    for (const key of atNow) shared[key] = now; // one Date for the batch, as one instant
    return ids.split(",").map((text, i): Submitted => {
      const id = Number(text);
      const request = new JsonText<RunRequest>(requests[i]!);
      // Not `{ ...shared, id, … }`: on Node 20, objects that a spread copied and then
      // extended read ~40× slower (the view of 1000 runs: 1.06 ms, and 0.023 ms built this
      // way), though V8 reports the same, stable shape for both.
      return Object.assign({}, shared, { id, jobId: input.runs[i]!.jobId, request }) as Submitted;
    });
  });

  /** Why a batch went in as nothing: a job that is not the caller's, or one that is closed. */
  async function refuse(userId: number, jobIds: number[]): Promise<never> {
    const jobs = await useTransaction((tx) =>
      tx
        .select({ id: jobTable.id, status: jobTable.status })
        .from(jobTable)
        .where(and(inArray(jobTable.id, jobIds), eq(jobTable.userId, userId))),
    );
    const missing = jobIds.find((id) => !jobs.some((j) => j.id === id));
    if (missing !== undefined) throw new NotFoundError("Job", missing);
    const closed = jobs.find((j) => Job.CLOSED.includes(j.status));
    if (closed)
      throw new ConflictError(`Job ${closed.id} is ${closed.status} and accepts no runs.`);
    // Not expected (closed jobs stay closed, missing ones stay missing); should it happen,
    // a retryable 409 rather than an empty batch reported as stored.
    throw new ConflictError("A job changed while the runs were submitted; retry.");
  }

  /** A run, as its owner names it. */
  export const Ref = lazy(() => z.strictObject({ userId: Id, runId: Id }));

  const byId = prepared((on) =>
    on.select().from(runTable).where(ownRow(runTable, "runId")).prepare("run_by_id"),
  );

  export const get = fn(Ref, async (input) => {
    const [row] = await byId(input);
    if (!row) throw new NotFoundError("Run", input.runId);
    return row;
  });

  /**
   * A run with the uploads issued for it, in one statement, so from one snapshot: read
   * apart, a results upload recorded between the reads (with the run's results key, in
   * one statement) could show a key without its upload, or the upload without the key.
   */
  const withUploads = prepared((on) => {
    const thisRun = qualified(runTable.id);
    return on
      .select({
        ...getTableColumns(runTable),
        uploads: uploadsJson(sql`u.run_id = ${thisRun}`),
      })
      .from(runTable)
      .where(ownRow(runTable, "runId"))
      .prepare("run_detail");
  });

  export const detail = fn(Ref, async (input) => {
    const [row] = await withUploads(input);
    if (!row) throw new NotFoundError("Run", input.runId);
    const { uploads, ...run } = row;
    return { run: run as Info, uploads: uploads.map((u) => fromRow(uploadTable, u)) };
  });

  /** A job's runs, through run_job_idx (see `keysetWithin`). */
  const byJob: [Column, Column] = [runTable.jobId, runTable.id];

  /** A page of a job's runs in id order; `cursor` is the last id of the previous page. */
  export const list = fn(
    () =>
      z.strictObject({
        userId: Id,
        jobId: Id,
        limit: z.number().int().min(1).max(LIMITS.pageSize).default(100),
        cursor: Id.optional(),
      }),
    (input) =>
      useTransaction(async (tx) => {
        const page = keysetWithin(byJob, input.jobId, "asc", input.cursor);
        const rows = await ofOwnJob(
          input,
          tx
            .select()
            .from(runTable)
            .where(and(page.where, ownedJob(input.jobId, input.userId)))
            .orderBy(...page.orderBy)
            .limit(input.limit + 1),
        );
        return keysetPage(rows, input.limit);
      }),
  );

  /** Runs handed to `forEachPageOf`'s `onPage` at a time. */
  export const ALL_PAGE = 2000;

  /** What the epx list shows of a run (no results key or update times), but its request. */
  const listed = {
    id: runTable.id,
    jobId: runTable.jobId,
    userId: runTable.userId,
    status: runTable.status,
    podPhase: runTable.podPhase,
    containerStatus: runTable.containerStatus,
    userDeleted: runTable.userDeleted,
    epxClientVersion: runTable.epxClientVersion,
    timeCreated: runTable.timeCreated,
  };
  const listedColumns = Object.entries(listed);
  /**
   * A listed run. Its request stays the JSON text Postgres holds: parsing 100,000 requests
   * and stringifying them again was about a third of the list's CPU.
   */
  export type Listed = Pick<Info, keyof typeof listed> & { request: JsonText<RunRequest> };

  /**
   * Every run of a job, for the epx client, which does not page: handed to `onPage`
   * ALL_PAGE runs at a time (one statement, or a cursor when there are more: see
   * `forEachPage`), so a job of 100,000 runs is never in memory at once (read whole, its
   * list took ~450 MB, more than a 512 MB Lambda has), and the list is one snapshot. The
   * read carries the job's ownership check, so another user's job costs an index lookup,
   * and only a job with no runs to show needs asking whether it is the caller's (a
   * NotFoundError) or just empty. See `forEachPage`: `onPage` must not query the database.
   */
  export async function forEachPageOf(
    input: z.input<ReturnType<typeof Job.Ref>>,
    onPage: (runs: Listed[]) => Promise<void> | void,
  ): Promise<void> {
    const parsed = Job.Ref().safeParse(input);
    if (!parsed.success) throw invalid(parsed.error);
    const { userId, jobId } = parsed.data;
    const all = keysetWithin(byJob, jobId, "asc");
    const query = db()
      .select({ ...listed, request: sql<string>`${runTable.request}::text`.as("request") })
      .from(runTable)
      .where(and(all.where, ownedJob(jobId, userId)))
      .orderBy(...all.orderBy);
    let any = false;
    await forEachPage(query, ALL_PAGE, (rows) => {
      any = true;
      return onPage(
        rows.map((row) => {
          // The listed columns, and the request as text in place of the column's value.
          const run = fromRow(runTable, row, listedColumns) as unknown as Listed;
          run.request = new JsonText(row.request as string);
          return run;
        }),
      );
    });
    if (!any) await assertJob(userId, jobId);
  }

  export const UpdateInput = lazy(() =>
    Ref().extend({
      status: Status.optional(),
      podPhase: PodPhase().nullable().optional(),
      containerStatus: Text(256).nullable().optional(),
      userDeleted: z.boolean().optional(),
      resultsUploaded: z.literal(true).optional(),
    }),
  );

  /** What the runner reports about a run: status, pod phase, results uploaded. */
  export const update = fn(UpdateInput, async ({ userId, runId, resultsUploaded, ...changes }) => {
    const mine = and(eq(runTable.id, runId), eq(runTable.userId, userId));
    // One statement: results can be marked uploaded only once an upload was issued for them.
    const [row] = await useTransaction((tx) =>
      tx
        .update(runTable)
        .set({
          ...changes,
          ...(resultsUploaded ? { resultsUploadedAt: sql`now()` } : {}),
          timeUpdated: sql`now()`,
        })
        .where(resultsUploaded ? and(mine, isNotNull(runTable.resultsKey)) : mine)
        .returning(),
    );
    if (row) return row;
    await get({ userId, runId }); // 404 if there is no such run of theirs
    throw new ConflictError(`Run ${runId} has no results upload; request one first.`);
  });

  /** Some of the caller's runs, by id (ids that are not the caller's runs are ignored). */
  export const Refs = lazy(() =>
    z.strictObject({ userId: Id, runIds: z.array(Id).min(1).max(LIMITS.batch) }),
  );

  /**
   * Marks the caller's runs among `runIds` deleted by their user: the runner stops them.
   * Returns the ids it marked; the others are not the caller's runs.
   */
  export const stop = fn(Refs, async ({ userId, runIds }) => {
    const rows = await useTransaction((tx) =>
      tx
        .update(runTable)
        .set({ userDeleted: true, timeUpdated: sql`now()` })
        .where(and(eq(runTable.userId, userId), inArray(runTable.id, runIds)))
        .returning({ id: runTable.id }),
    );
    return rows.map((r) => r.id);
  });

  /**
   * Queues the caller's failed runs among `runIds` again: an ERROR run of a job that still
   * takes runs goes back to Submitted, its pod phase and container status cleared, for the
   * runner to pick up as it does a new one. Returns the ids it queued.
   */
  export const retry = fn(Refs, ({ userId, runIds }) =>
    createTransaction(async (tx) => {
      // Their jobs locked as Run.submit locks them, in id order: a cancel in flight is
      // waited for, and a job it closed then takes no run back.
      const open = await tx
        .select({ id: jobTable.id })
        .from(jobTable)
        .where(
          and(
            eq(jobTable.userId, userId),
            inArray(
              jobTable.id,
              tx
                .selectDistinct({ jobId: runTable.jobId })
                .from(runTable)
                .where(and(eq(runTable.userId, userId), inArray(runTable.id, runIds))),
            ),
            notInArray(jobTable.status, [...Job.CLOSED]),
          ),
        )
        .orderBy(jobTable.id)
        .for("no key update");
      if (!open.length) return [];
      const rows = await tx
        .update(runTable)
        .set({
          status: "Submitted",
          podPhase: null,
          containerStatus: null,
          timeUpdated: sql`now()`,
        })
        .where(
          and(
            eq(runTable.userId, userId),
            inArray(runTable.id, runIds),
            inArray(
              runTable.jobId,
              open.map((j) => j.id),
            ),
            eq(runTable.status, "ERROR"),
            eq(runTable.userDeleted, false),
          ),
        )
        .returning({ id: runTable.id });
      return rows.map((r) => r.id);
    }),
  );

  /** Runs of a job whose results are uploaded, with their keys. */
  export const withResults = fn(Job.Ref, (input) => {
    // Read through run_job_results_idx, whose condition these repeat.
    const all = keysetWithin(byJob, input.jobId, "asc");
    return useTransaction((tx) =>
      ofOwnJob(
        input,
        tx
          .select({ id: runTable.id, resultsKey: runTable.resultsKey })
          .from(runTable)
          .where(
            and(
              all.where,
              ownedJob(input.jobId, input.userId),
              isNotNull(runTable.resultsUploadedAt),
              isNotNull(runTable.resultsKey),
            ),
          )
          .orderBy(...all.orderBy),
      ),
    );
  });

  /**
   * Records where a run's results go (set when an upload URL for them is issued), on `on`:
   * the upload's insert, with which it is one statement.
   */
  export async function setResultsKey(on: Updater, runId: number, key: string) {
    await on.update(runTable).set({ resultsKey: key }).where(eq(runTable.id, runId));
  }

  /**
   * `read` (rows of one job), sent together with the check that the job is the caller's:
   * one round trip, not two. Rows of a job that is not theirs are read and dropped unseen.
   */
  async function ofOwnJob<T>(
    { userId, jobId }: { userId: number; jobId: number },
    read: PromiseLike<T>,
  ): Promise<T> {
    const [, rows] = await Promise.all([assertJob(userId, jobId), read]);
    return rows;
  }

  async function assertJob(userId: number, jobId: number) {
    const [job] = await useTransaction((tx) =>
      tx
        .select({ id: jobTable.id })
        .from(jobTable)
        .where(and(eq(jobTable.id, jobId), eq(jobTable.userId, userId))),
    );
    if (!job) throw new NotFoundError("Job", jobId);
  }
}
