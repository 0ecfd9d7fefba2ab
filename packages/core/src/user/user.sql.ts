import { index, pgTable, text, timestamp, uniqueIndex, varchar } from "drizzle-orm/pg-core";
import { id, ref, timestamps } from "../drizzle/types";

export const userTable = pgTable(
  "user",
  {
    ...id,
    name: varchar("name", { length: 200 }).notNull(),
    email: varchar("email", { length: 320 }),
    ...timestamps,
  },
  (t) => [uniqueIndex("user_email_unique").on(t.email)],
);

export const apiTokenTable = pgTable(
  "api_token",
  {
    ...id,
    userId: ref("user_id")
      .notNull()
      .references(() => userTable.id, { onDelete: "cascade" }),
    /** SHA-256 of the whole token, hex. The token itself is never stored. */
    tokenHash: text("token_hash").notNull(),
    /** The first characters of the token, shown so a user can tell tokens apart. */
    prefix: varchar("prefix", { length: 16 }).notNull(),
    label: varchar("label", { length: 200 }),
    timeCreated: timestamps.timeCreated,
    timeLastUsed: timestamp("time_last_used", { withTimezone: true }),
    timeExpires: timestamp("time_expires", { withTimezone: true }),
    timeRevoked: timestamp("time_revoked", { withTimezone: true }),
  },
  (t) => [
    uniqueIndex("api_token_hash_unique").on(t.tokenHash),
    index("api_token_user_idx").on(t.userId),
  ],
);
