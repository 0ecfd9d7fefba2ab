import { index, integer, pgTable, primaryKey, text, timestamp, varchar } from "drizzle-orm/pg-core";
import { ref, timestamps } from "../drizzle/types";
import { userTable } from "../user/user.sql";

/**
 * One row per (user, Idempotency-Key): the request's fingerprint and the response that
 * was sent for it. The row is written in the same transaction as the request's own writes,
 * so it exists exactly when they do; a failed request leaves no row behind.
 */
export const idempotencyTable = pgTable(
  "idempotency_key",
  {
    userId: ref("user_id")
      .notNull()
      .references(() => userTable.id, { onDelete: "cascade" }),
    key: varchar("key", { length: 255 }).notNull(),
    /** SHA-256 (hex) of the method, path and canonical JSON body. */
    fingerprint: varchar("fingerprint", { length: 64 }).notNull(),
    /** The response, replayed to retries. Set before the claiming transaction commits. */
    status: integer("status"),
    body: text("body"),
    contentType: varchar("content_type", { length: 255 }),
    timeCreated: timestamps.timeCreated,
    timeExpires: timestamp("time_expires", { withTimezone: true }).notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.userId, t.key] }),
    index("idempotency_key_expires_idx").on(t.timeExpires),
  ],
);
