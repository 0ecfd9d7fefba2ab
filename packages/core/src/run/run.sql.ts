import { sql } from "drizzle-orm";
import {
  boolean,
  foreignKey,
  index,
  json,
  pgEnum,
  pgTable,
  text,
  timestamp,
  varchar,
} from "drizzle-orm/pg-core";
import { id, ref, timestamps } from "../drizzle/types";
import { jobTable } from "../job/job.sql";
import type { RunRequest } from "./request";

/** `Submitted` is what the epx client expects of a new run; the rest are the runner's. */
export const runStatus = pgEnum("run_status", [
  "Submitted",
  "QUEUED",
  "NOT_STARTED",
  "RUNNING",
  "DONE",
  "ERROR",
]);

/** A Kubernetes pod's phases: the only values the epx client reads in a run's podPhase. */
export const podPhases = ["Pending", "Running", "Succeeded", "Failed", "Unknown"] as const;

export const runTable = pgTable(
  "run",
  {
    // run_id_seq keeps CACHE 1. A per-connection cache would save ~1 ms per 1000-run batch,
    // but then a connection holding a block of low ids could commit a job's runs behind the
    // cursor of a client paging that job (see Run.submit's locking), who would never see them.
    ...id,
    jobId: ref("job_id").notNull(),
    userId: ref("user_id").notNull(),
    // json, not jsonb: the validated request is kept as the text we store and handed back
    // as it is (key order included; nothing queries inside it), and a batch of 1000 stores
    // in ~3.5 ms less, because Postgres only checks json where it would rebuild jsonb.
    request: json("request").$type<RunRequest>().notNull(),
    status: runStatus("status").notNull().default("Submitted"),
    podPhase: varchar("pod_phase", { length: 64, enum: podPhases }),
    containerStatus: varchar("container_status", { length: 256 }),
    userDeleted: boolean("user_deleted").notNull().default(false),
    epxClientVersion: varchar("epx_client_version", { length: 64 }),
    resultsKey: text("results_key"),
    resultsUploadedAt: timestamp("results_uploaded_at", { withTimezone: true }),
    ...timestamps,
  },
  (t) => [
    // One key for both: the run's job, and that job's owner (so user_id cannot disagree
    // with the job's). One check per inserted run instead of two, and deleting a user
    // reaches runs through their jobs, so user_id needs no index of its own.
    foreignKey({
      name: "run_job_user_fk",
      columns: [t.jobId, t.userId],
      foreignColumns: [jobTable.id, jobTable.userId],
    }).onDelete("cascade"),
    index("run_job_idx").on(t.jobId, t.id),
    // Counting a job's runs by status reads only this index (Job.detail).
    index("run_job_status_idx").on(t.jobId, t.status),
    // A job's runs with results (epx GET /jobs/results), read without its other runs.
    index("run_job_results_idx")
      .on(t.jobId, t.id)
      .where(sql`${t.resultsUploadedAt} is not null and ${t.resultsKey} is not null`),
  ],
);
