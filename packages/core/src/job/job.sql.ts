import { sql } from "drizzle-orm";
import { index, jsonb, pgEnum, pgTable, unique, varchar } from "drizzle-orm/pg-core";
import { id, ref, textArray, timestamps } from "../drizzle/types";
import { userTable } from "../user/user.sql";

export const jobStatus = pgEnum("job_status", [
  "created",
  "submitted",
  "processing",
  "completed",
  "failed",
  "cancelled",
]);

export const jobTable = pgTable(
  "job",
  {
    ...id,
    userId: ref("user_id")
      .notNull()
      .references(() => userTable.id, { onDelete: "cascade" }),
    name: varchar("name", { length: 200 }),
    description: varchar("description", { length: 2000 }),
    tags: textArray("tags").notNull().default(sql`'{}'`),
    status: jobStatus("status").notNull().default("created"),
    metadata: jsonb("metadata").$type<Record<string, unknown>>().notNull().default({}),
    ...timestamps,
  },
  (t) => [
    index("job_user_idx").on(t.userId, t.id),
    // What a run's (job_id, user_id) references: a run belongs to its job's owner.
    unique("job_id_user_id_unique").on(t.id, t.userId),
  ],
);

/**
 * SQL: job `jobId` exists and is `userId`'s. Reads of a job's rows carry it, so asking for a
 * job that is not yours costs an index lookup, never a scan of someone else's runs.
 */
export function ownedJob(jobId: unknown, userId: unknown) {
  return sql`exists (select 1 from ${jobTable} where ${jobTable.id} = ${jobId} and ${jobTable.userId} = ${userId})`;
}
