/**
 * The one database client: postgres.js under drizzle. `prepare: false` because RDS Proxy
 * pins a connection for the life of any prepared statement, which defeats the proxy.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import {
  type Column,
  fillPlaceholders,
  getTableColumns,
  type SQL,
  sql as sqlTag,
  type Table,
} from "drizzle-orm";
import { PgDialect } from "drizzle-orm/pg-core";
import { drizzle, type PostgresJsDatabase, type PostgresJsSession } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import { Config } from "../config";
import { UnavailableError } from "../error";

export type Database = PostgresJsDatabase;
export type Transaction = Parameters<Parameters<Database["transaction"]>[0]>[0];
export type Executor = Database | Transaction;
/** Where an UPDATE can be built: an executor, or one with CTEs (`on.with(…)`). */
export type Updater = Pick<Executor, "update">;

let client: postgres.Sql | undefined;
let database: Database | undefined;

export function db(): Database {
  if (!database) {
    client = postgres(Config.databaseUrl(), {
      prepare: false,
      ssl: Config.databaseSsl(),
      max: Config.poolSize(),
      idle_timeout: Number(process.env.DB_IDLE_TIMEOUT ?? 20),
      connect_timeout: Number(process.env.DB_CONNECT_TIMEOUT ?? 3),
      max_lifetime: 60 * 30,
      // Seconds before reconnecting after a failed connection. postgres.js's default grows
      // to 20 s and queries wait it out, so a database outage turned into hanging requests
      // (and a slow recovery) instead of fast 503s. The count of attempts is the pool's, not
      // each connection's: a busy pool reaches the cap at once. Capped at 0.5 s, requests
      // fail within ~1 s (at 1 s, a pool busy with pipelined reads took ~2 s).
      backoff: (attempt: number) => Math.min(0.05 * 2 ** attempt, 0.5),
      onnotice: () => {},
      // postgres.js otherwise reads every array type from pg_catalog when a connection opens:
      // one more round trip before a cold start's first query (~6 ms of its first event over
      // a 1 ms link). Nothing needs them: lists go to Postgres as json, and the one array
      // column, job.tags, parses its own text (`textArray`, ./types.ts). Raw queries on this
      // client get arrays as Postgres's text, and must send lists as json.
      fetch_types: false,
      connection: { application_name: process.env.AWS_LAMBDA_FUNCTION_NAME ?? "fred-platform" },
    });
    database = drizzle(client);
  }
  return database;
}

/** The raw postgres.js client (health checks, benchmarks, pool inspection). */
export function sql(): postgres.Sql {
  db();
  return client!;
}

/**
 * Starts opening the pool's connection and returns at once. The Lambda entry calls it
 * before it loads the app, so the connection's round trips (TCP, TLS, authentication) go
 * on while the app loads and a cold start's first request finds it open. Any failure is
 * left to that request, which retries and answers 503 if it cannot connect either.
 */
export function connectEarly(): void {
  try {
    sql()`select 1`.catch(() => {});
  } catch {
    // Not configured: the first request reports it.
  }
}

export async function closeDb(): Promise<void> {
  const c = client;
  client = undefined;
  database = undefined;
  await c?.end({ timeout: 5 });
}

const current = new AsyncLocalStorage<Transaction>();

/** Runs `cb` inside the caller's transaction if there is one, else on the pool. */
export function useTransaction<T>(cb: (tx: Executor) => Promise<T>): Promise<T> {
  return guard(() => cb(current.getStore() ?? db()));
}

/**
 * A query for a hot path, built once per client instead of on every call (drizzle's query
 * building costs more than a simple query's round trip on loopback). `prepare: false`
 * still holds: postgres.js sends it unnamed, so RDS Proxy does not pin the connection.
 * Inside a transaction the query is built on that transaction, as any other.
 */
export function prepared<Q extends { execute(values?: Record<string, unknown>): Promise<unknown> }>(
  build: (on: Executor) => Q,
) {
  const cache = new WeakMap<Executor, Q>();
  return (values: Record<string, unknown>) =>
    guard(async () => {
      const tx = current.getStore();
      if (tx) return (await build(tx).execute(values)) as Awaited<ReturnType<Q["execute"]>>;
      const on = db();
      const query = cache.get(on) ?? build(on);
      cache.set(on, query);
      return (await query.execute(values)) as Awaited<ReturnType<Q["execute"]>>;
    });
}

/**
 * Hand-written SQL for a hot path, its text built once instead of on every call (drizzle
 * builds a statement like Run.submit's in ~25 µs). `build` names each value with
 * `bind(name)`; the statement runs with `values` for those names, on the caller's
 * transaction if there is one, and returns raw rows (see `fromRow`).
 */
export function statement<K extends string>(build: (bind: (name: K) => unknown) => SQL) {
  let text: { sql: string; params: unknown[] } | undefined;
  return (values: Record<K, unknown>) =>
    guard(async (): Promise<Record<string, unknown>[]> => {
      text ??= new PgDialect().sqlToQuery(build((name) => sqlTag.placeholder(name)));
      const params = fillPlaceholders(text.params, values) as postgres.ParameterOrJSON<never>[];
      return clientOf(current.getStore() ?? db()).unsafe(text.sql, params);
    });
}

/** The postgres.js connection drizzle runs `on`: the pool, or a transaction's connection. */
function clientOf(on: Executor): postgres.Sql {
  return (on._.session as PostgresJsSession<postgres.Sql, never, never>).client;
}

type Query = { toSQL(): { sql: string; params: unknown[] } };

/**
 * The rows of a query, `size` at a time, each batch handed to `onPage` and awaited before
 * the next is read, for results too large to hold at once (a job's every run); all handed
 * over from one statement, so one snapshot. Most results fit in one page, which is read as
 * a plain statement: one round trip, sent together with any others. A longer one is read
 * again from its start through one cursor (postgres.js ends a cursor with a Sync and waits
 * for its answer: a round trip more), so a result of one to two pages costs the database
 * up to twice its reading; the common short one costs half the round trips. Rows come raw
 * (column names, driver values; see `fromRow`). Resolves once every page is handled;
 * rejects if `onPage` throws (the cursor is closed) or the connection fails at any point,
 * also while a page is being handled. It reads on the caller's transaction if there is one,
 * else on the pool, and holds that connection until done: with a pool of one (Lambda), or
 * in a transaction, `onPage` must not query. `query` is drizzle's builder, which `limit()`
 * changes: pass it here only.
 */
export async function forEachPage(
  query: Query & { limit(n: number): Query },
  size: number,
  onPage: (rows: Record<string, unknown>[]) => Promise<void> | void,
): Promise<void> {
  const { sql: text, params } = query.toSQL();
  const client = () => clientOf(current.getStore() ?? db());
  const first = query.limit(size + 1).toSQL();
  const rows = await guard(() =>
    client().unsafe(first.sql, first.params as postgres.ParameterOrJSON<never>[]),
  );
  if (rows.length <= size) {
    if (rows.length) await onPage(rows);
    return;
  }
  // postgres.js awaits the callback before reading the next batch, but not after the last
  // one: the handlers are chained here, and the chain is awaited once the query is done.
  let handled = Promise.resolve();
  await guard(() =>
    client()
      .unsafe(text, params as postgres.ParameterOrJSON<never>[])
      .cursor(size, (rows) => {
        handled = handled.then(() => onPage(rows));
        handled.catch(() => {}); // awaited below, or its error rejects the query
        return handled;
      }),
  );
  await handled;
}

/** Runs `cb` in a transaction: the caller's, or a new one that commits when `cb` resolves. */
export function createTransaction<T>(cb: (tx: Transaction) => Promise<T>): Promise<T> {
  const tx = current.getStore();
  if (tx) return cb(tx);
  return guard(() => db().transaction((tx) => current.run(tx, () => cb(tx))));
}

/** Turns "the database is not there" into a typed, retryable error. */
async function guard<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (isUnavailable(error)) throw new UnavailableError();
    throw error;
  }
}

const UNAVAILABLE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
  "CONNECT_TIMEOUT",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "57P01", // admin_shutdown
  "57P02", // crash_shutdown
  "57P03", // cannot_connect_now (starting up / shutting down)
  "53300", // too_many_connections
]);

export function isUnavailable(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && UNAVAILABLE_CODES.has(code)) return true;
    if (e instanceof AggregateError && e.errors.some(isUnavailable)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** The Postgres SQLSTATE of an error, looking through drizzle's wrapping. */
export function pgCode(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && /^[0-9A-Z]{5}$/.test(code)) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * A raw row (snake_case, driver values) of `table`, as drizzle's own queries return it:
 * for hand-written SQL run with `tx.execute` that must still yield typed records.
 */
export function fromRow<T extends Table>(
  table: T,
  raw: Record<string, unknown>,
  columns: [string, Column][] = columnsOf(table),
): T["$inferSelect"] {
  const record: Record<string, unknown> = {};
  for (const [key, column] of columns) {
    const value = raw[column.name];
    record[key] = value === null || value === undefined ? null : column.mapFromDriverValue(value);
  }
  return record as T["$inferSelect"];
}

const columnLists = new WeakMap<Table, [string, Column][]>();

/** A table's [key, column] pairs, listed once per table (a batch maps 1000 rows). */
function columnsOf(table: Table): [string, Column][] {
  let list = columnLists.get(table);
  if (!list) {
    list = Object.entries(getTableColumns(table));
    columnLists.set(table, list);
  }
  return list;
}
