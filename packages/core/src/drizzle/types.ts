import {
  and,
  asc,
  type Column,
  desc,
  eq,
  getTableName,
  type Placeholder,
  type SQL,
  sql,
} from "drizzle-orm";
import { bigint, customType, makePgArray, timestamp } from "drizzle-orm/pg-core";
import { parse as parseArray } from "postgres-array";

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

/**
 * A text[] column. Our client reads no array types (`fetch_types: false`, ./index.ts), so
 * Postgres's array text reaches us as it is: postgres-array parses it (node-postgres's
 * parser; drizzle's own drops backslashes), and drizzle writes the literal as it always has.
 */
export const textArray = customType<{ data: string[]; driverData: string }>({
  dataType: () => "text[]",
  toDriver: (value) => makePgArray(value),
  fromDriver: (value) => parseArray(value) as string[],
});

/**
 * The rows of one parent (a job's runs, a user's jobs) in the order of the (parent, id)
 * index, after (or, descending, before) a cursor id: a range of that index, not
 * `parent = value`. Given an equality, Postgres may plan to read the whole table in id order
 * until enough of the parent's rows turn up: quick when they are spread through it, a read
 * of all of it when they are its newest (a job's runs submitted last). Written as a range
 * and ordered by (parent, id), only a walk of that index yields the order, so a page reads
 * what it returns, whatever the statistics say.
 */
export function keysetWithin(
  [parent, id]: [Column, Column],
  value: number | Placeholder,
  order: "asc" | "desc",
  cursor?: number,
): { where: SQL; orderBy: SQL[] } {
  const orderBy = order === "asc" ? [asc(parent), asc(id)] : [desc(parent), desc(id)];
  if (cursor === undefined) return { where: sql`${parent} between ${value} and ${value}`, orderBy };
  const where =
    order === "asc"
      ? sql`(${parent}, ${id}) > (${value}, ${cursor}) and ${parent} <= ${value}`
      : sql`(${parent}, ${id}) < (${value}, ${cursor}) and ${parent} >= ${value}`;
  return { where, orderBy };
}

/**
 * A column with its table's name, for a correlated subquery: in a one-table select drizzle
 * writes a column without its table, which inside the subquery would name the subquery's
 * own column of that name (its own id).
 */
export function qualified(column: Column): SQL {
  return sql`${sql.identifier(getTableName(column.table))}.${sql.identifier(column.name)}`;
}

/**
 * A prepared query's row, if it is the caller's: `id` is the placeholder `idName`, and
 * `userId` the placeholder "userId".
 */
export function ownRow(table: { id: Column; userId: Column }, idName: string): SQL {
  return and(eq(table.id, sql.placeholder(idName)), eq(table.userId, sql.placeholder("userId")))!;
}
