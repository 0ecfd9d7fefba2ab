import { and, arrayContains, eq, getTableColumns, gte, inArray, lt, sql } from "drizzle-orm";
import * as z from "zod";
import { createTransaction, fromRow, prepared, useTransaction } from "../drizzle";
import { keysetWithin, ownRow, qualified } from "../drizzle/types";
import { ConflictError, InvalidError, NotFoundError } from "../error";
import { type runStatus, runTable } from "../run/run.sql";
import { deleteObjects } from "../upload/s3";
import { uploadsJson, uploadTable } from "../upload/upload.sql";
import { fn, Id, jsonProblem, keysetPage, lazy, storable, Text } from "../util";
import { jobStatus, jobTable } from "./job.sql";

export namespace Job {
  export const Status = z.enum(jobStatus.enumValues);
  export type Status = z.infer<typeof Status>;

  /** Which statuses each status may move to. Everything else is refused. */
  export const TRANSITIONS: Record<Status, readonly Status[]> = {
    created: ["submitted", "cancelled"],
    submitted: ["processing", "cancelled"],
    processing: ["completed", "failed", "cancelled"],
    failed: ["submitted"],
    completed: [],
    cancelled: [],
  };

  /** A job that is done with: it takes no more runs and no more uploads of its own. */
  export const CLOSED: readonly Status[] = ["completed", "cancelled"];

  export const LIMITS = {
    tags: 50,
    tagLength: 100,
    name: 200,
    description: 2000,
    metadataBytes: 16_384,
    metadataDepth: 32,
    pageSize: 100,
    /** Most jobs one search (`find`) returns whole: past it, narrow the search. */
    found: 10_000,
  } as const;

  export type Info = typeof jobTable.$inferSelect;

  export const Tag = lazy(() =>
    z
      .string()
      .trim()
      .min(1)
      .max(LIMITS.tagLength)
      .refine((t) => !/\p{Cc}/u.test(t), "Tags may not contain control characters.")
      .refine(storable, "Tags must be valid Unicode (no lone surrogates)."),
  );

  export const Metadata = lazy(() =>
    z.record(z.string().max(200), z.unknown()).superRefine((m, ctx) => {
      // Postgres jsonb cannot store \u0000 or a lone surrogate; refuse them rather than
      // fail (or lose data). Depth first: JSON.stringify of deep nesting overflows.
      const problem = jsonProblem(m, LIMITS.metadataDepth);
      if (problem) {
        ctx.addIssue({ code: "custom", message: `Metadata ${problem}.` });
      } else if (Buffer.byteLength(JSON.stringify(m)) > LIMITS.metadataBytes) {
        ctx.addIssue({
          code: "custom",
          message: `Metadata may be at most ${LIMITS.metadataBytes} bytes of JSON.`,
        });
      }
    }),
  );

  export const CreateInput = lazy(() =>
    z.strictObject({
      userId: Id,
      name: Text(LIMITS.name).optional(),
      description: Text(LIMITS.description).optional(),
      tags: z.array(Tag()).max(LIMITS.tags).default([]),
      metadata: Metadata().default({}),
    }),
  );

  export const create = fn(CreateInput, (input) =>
    useTransaction(async (tx) => {
      const [row] = await tx
        .insert(jobTable)
        .values({
          userId: input.userId,
          name: input.name ?? null,
          description: input.description ?? null,
          tags: [...new Set(input.tags)],
          metadata: input.metadata,
        })
        .returning();
      return row!;
    }),
  );

  /** A job, as its owner names it. */
  export const Ref = lazy(() => z.strictObject({ userId: Id, jobId: Id }));

  /** A job of this user; another user's job is "not found", never "forbidden". */
  const byId = prepared((on) =>
    on.select().from(jobTable).where(ownRow(jobTable, "jobId")).prepare("job_by_id"),
  );

  export const get = fn(Ref, async (input) => {
    const [row] = await byId(input);
    if (!row) throw new NotFoundError("Job", input.jobId);
    return row;
  });

  /**
   * A job with its own uploads (input, config; a run's are listed with the run) and how
   * many of its runs are in each status, read in ONE statement, so from one snapshot: an
   * upload recorded with the job's move to submitted shows with it or not at all (read
   * apart, a job could show as created with its input, or submitted without). Another
   * user's job is a 404, found by an index lookup; its uploads and runs are never read.
   */
  const withDetail = prepared((on) => {
    const thisJob = qualified(jobTable.id);
    return on
      .select({
        ...getTableColumns(jobTable),
        uploads: uploadsJson(sql`u.job_id = ${thisJob} and u.context = 'job'`),
        runCounts: sql<Partial<Record<(typeof runStatus.enumValues)[number], number>>>`(
          select coalesce(json_object_agg(c.status, c.n), '{}')
          from (select status, count(*)::int as n from ${runTable}
                where job_id = ${thisJob} group by status) c)`,
      })
      .from(jobTable)
      .where(ownRow(jobTable, "jobId"))
      .prepare("job_detail");
  });

  export const detail = fn(Ref, async (input) => {
    const [row] = await withDetail(input);
    if (!row) throw new NotFoundError("Job", input.jobId);
    const { uploads, runCounts, ...job } = row;
    return {
      job: job as Info,
      uploads: uploads.map((u) => fromRow(uploadTable, u)),
      runCounts,
    };
  });

  /** Newest first, keyset-paged on id: `cursor` is the last id of the previous page. */
  export const list = fn(
    () =>
      z.strictObject({
        userId: Id,
        limit: z.number().int().min(1).max(LIMITS.pageSize).default(20),
        cursor: Id.optional(),
      }),
    (input) =>
      useTransaction(async (tx) => {
        // Through job_user_idx, also for a user whose jobs are older than everyone else's.
        const page = keysetWithin(
          [jobTable.userId, jobTable.id],
          input.userId,
          "desc",
          input.cursor,
        );
        const rows = await tx
          .select()
          .from(jobTable)
          .where(page.where)
          .orderBy(...page.orderBy)
          .limit(input.limit + 1);
        return keysetPage(rows, input.limit);
      }),
  );

  /**
   * Deletes a job: the objects of every upload issued for it (its own and its runs'), then
   * the job with its runs and uploads. Refused while the job is processing (cancel it
   * first: a runner is at work on it). The job stays locked while its objects go, and a
   * storage failure is a 503 that deletes no row, so a retry finishes what was started.
   */
  export const remove = fn(Ref, (input) =>
    // A transaction of its own (or the caller's), so that the lock holds until the rows go.
    createTransaction(async (tx) => {
      const [job] = await tx
        .select({ status: jobTable.status })
        .from(jobTable)
        .where(and(eq(jobTable.id, input.jobId), eq(jobTable.userId, input.userId)))
        .for("update");
      if (!job) throw new NotFoundError("Job", input.jobId);
      if (job.status === "processing") {
        throw new ConflictError(`Job ${input.jobId} is processing: cancel it first.`);
      }
      const keys = await tx
        .selectDistinct({ key: uploadTable.key })
        .from(uploadTable)
        .where(eq(uploadTable.jobId, input.jobId));
      await deleteObjects(keys.map((k) => k.key));
      await tx.delete(jobTable).where(eq(jobTable.id, input.jobId));
    }),
  );

  /**
   * The caller's jobs that carry every one of `tags` and were created in
   * [createdFrom, createdBefore), newest first: the first `limit`, or all of them (up to
   * LIMITS.found; more is a 400 asking for a narrower search, never a list cut short).
   */
  export const find = fn(
    () =>
      z.strictObject({
        userId: Id,
        tags: z.array(Tag()).max(LIMITS.tags).default([]),
        createdFrom: z.date().optional(),
        createdBefore: z.date().optional(),
        limit: z.number().int().min(1).max(LIMITS.found).optional(),
      }),
    (input) =>
      useTransaction(async (tx) => {
        // Through job_user_idx, newest first, as `list`.
        const mine = keysetWithin([jobTable.userId, jobTable.id], input.userId, "desc");
        const limit = input.limit ?? LIMITS.found + 1;
        const rows = await tx
          .select()
          .from(jobTable)
          .where(
            and(
              mine.where,
              input.tags.length ? arrayContains(jobTable.tags, input.tags) : undefined,
              input.createdFrom ? gte(jobTable.timeCreated, input.createdFrom) : undefined,
              input.createdBefore ? lt(jobTable.timeCreated, input.createdBefore) : undefined,
            ),
          )
          .orderBy(...mine.orderBy)
          .limit(limit);
        if (input.limit === undefined && rows.length > LIMITS.found) {
          throw new InvalidError(
            `More than ${LIMITS.found} jobs match: narrow the search (tags, dates).`,
          );
        }
        return rows;
      }),
  );

  /**
   * Moves a job to `to`, refusing moves the state machine does not allow. The check and
   * the write are one UPDATE, so two racing transitions cannot both succeed. When it
   * changes nothing, the job is read again to say why; if another change committed in
   * between and the job now stands where the move is allowed, the move is tried again
   * (an UPDATE skips a row its snapshot shows in another state without waiting for the
   * change in flight), so a refusal never names a state the move is allowed from.
   */
  export const transition = fn(
    () => Ref().extend({ to: Status }),
    (input) =>
      useTransaction(async (tx) => {
        const from = (Object.keys(TRANSITIONS) as Status[]).filter((s) =>
          TRANSITIONS[s].includes(input.to),
        );
        let current: Info | undefined;
        for (let attempt = 0; attempt < 5; attempt++) {
          const [row] = from.length
            ? await tx
                .update(jobTable)
                .set({ status: input.to })
                .where(
                  and(
                    eq(jobTable.id, input.jobId),
                    eq(jobTable.userId, input.userId),
                    inArray(jobTable.status, from),
                  ),
                )
                .returning()
            : [];
          if (row) return row;
          current = await get({ userId: input.userId, jobId: input.jobId });
          if (!from.includes(current.status)) break;
        }
        const status = current!.status;
        const message = from.includes(status)
          ? "The job kept changing while it was moved; retry."
          : `A ${status} job cannot become ${input.to}.`;
        throw new ConflictError(message, {
          from: status,
          to: input.to,
          allowed: TRANSITIONS[status],
        });
      }),
  );

  export function canTransition(from: Status, to: Status): boolean {
    return TRANSITIONS[from].includes(to);
  }
}
