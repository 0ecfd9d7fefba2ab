import { bigint, timestamp } from "drizzle-orm/pg-core";

/** Shared columns: every table has a bigint identity id and created/updated times. */
export const id = {
  get id() {
    return bigint("id", { mode: "number" }).primaryKey().generatedAlwaysAsIdentity();
  },
};

export const timestamps = {
  get timeCreated() {
    return timestamp("time_created", { withTimezone: true }).notNull().defaultNow();
  },
  get timeUpdated() {
    return timestamp("time_updated", { withTimezone: true })
      .notNull()
      .defaultNow()
      .$onUpdate(() => new Date());
  },
};

export function ref(name: string) {
  return bigint(name, { mode: "number" });
}
