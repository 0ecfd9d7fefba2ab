import { type SQL, sql } from "drizzle-orm";
import { index, pgEnum, pgTable, text, timestamp, varchar } from "drizzle-orm/pg-core";
import { id, ref, timestamps } from "../drizzle/types";
import { jobTable } from "../job/job.sql";
import { runTable } from "../run/run.sql";

export const uploadContext = pgEnum("upload_context", ["job", "run"]);
export const uploadType = pgEnum("upload_type", ["input", "config", "results", "logs"]);

/** One row per presigned URL issued, so every object in the bucket has an owner. */
export const uploadTable = pgTable(
  "upload",
  {
    ...id,
    jobId: ref("job_id")
      .notNull()
      .references(() => jobTable.id, { onDelete: "cascade" }),
    runId: ref("run_id").references(() => runTable.id, { onDelete: "cascade" }),
    context: uploadContext("context").notNull(),
    type: uploadType("type").notNull(),
    key: text("key").notNull(),
    contentType: varchar("content_type", { length: 255 }),
    timeCreated: timestamps.timeCreated,
    timeExpires: timestamp("time_expires", { withTimezone: true }).notNull(),
  },
  (t) => [
    index("upload_job_idx").on(t.jobId),
    // A job's own uploads (input, config) in id order, without its runs' (Job.detail).
    index("upload_job_own_idx").on(t.jobId, t.id).where(sql`${t.context} = 'job'`),
    index("upload_run_idx").on(t.runId),
  ],
);

/**
 * SQL: the uploads for which `where` holds (the upload is `u`), as one json array in id
 * order: a detail's uploads, read in its own statement (rows with column names and
 * timestamps as JSON strings, for `fromRow`).
 */
export function uploadsJson(where: SQL) {
  return sql<Record<string, unknown>[]>`(
    select coalesce(json_agg(u order by u.id), '[]') from ${uploadTable} u where ${where})`;
}
