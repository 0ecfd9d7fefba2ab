/**
 * Reads whose work must not grow with the table or with other users' data: each is run in
 * a transaction, and Postgres's own count of the rows it read there (pg_stat_xact_user_tables:
 * rows from sequential scans and rows fetched through indexes) must stay near what the
 * read returns. The data is laid out as it comes in production and as the planner misjudged
 * it: a job's runs as one block at the end of the table (a batch submitted last), and a
 * user whose jobs are all older than everyone else's.
 */
import { createTransaction, sql } from "@fred/core/drizzle";
import { Job } from "@fred/core/job";
import { Run } from "@fred/core/run";
import { sql as drizzleSql } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { makeUser, runRequest } from "./fixtures";

type Table = "job" | "run" | "upload";

/** Rows the planner itself may fetch for a range: the index's actual ends near the value. */
const PLANNING = 8;

/** What `work` returned (or threw), and how many rows of `table` Postgres read for it. */
async function rowsRead<T>(table: Table, work: () => Promise<T>) {
  return createTransaction(async (tx) => {
    // The connection's counts not yet reported include earlier statements: take the
    // difference. Nothing is reported while a transaction is open.
    const counted = async () => {
      const [row] = await tx.execute<{ n: number }>(
        drizzleSql`select (coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0))::int as n
                   from pg_stat_xact_user_tables where relname = ${table}`,
      );
      return row!.n;
    };
    const before = await counted();
    const outcome = await work().then(
      (value) => ({ value: value as Awaited<T>, error: undefined }),
      (error: unknown) => ({ value: undefined, error }),
    );
    return { ...outcome, rows: (await counted()) - before };
  });
}

/** `count` runs of `jobId` (its owner's), inserted in one statement: one block of the table. */
async function addRuns(jobId: number, userId: number, count: number) {
  await sql()`
    insert into run (job_id, user_id, request)
    select ${jobId}, ${userId}, ${JSON.stringify(runRequest(jobId))}::json
    from generate_series(1, ${count})`;
}

async function addJobs(userId: number, count: number): Promise<number[]> {
  const rows = await sql()`
    insert into job (user_id, name) select ${userId}, 'job ' || g from generate_series(1, ${count}) g
    returning id`;
  return rows.map((r) => Number(r.id));
}

let caller: number; // a user with a 5,000-run job submitted last, and one with results
let oldTimer: number; // a user whose 1,000 jobs are older than everyone else's
let other: number; // another user, with a 5,000-run job and uploads
const jobs = { recent: 0, withResults: 0, others: 0, foreign: 0 };

beforeAll(async () => {
  oldTimer = (await makeUser("Old")).user.id;
  await addJobs(oldTimer, 1000);
  caller = (await makeUser("Ada")).user.id;
  other = (await makeUser("Bob")).user.id;
  // 4,000 jobs of 100 users, taking turns as users do: 5,000 jobs in all, where Postgres had
  // planned a submission's job lookup as a read of the whole table.
  const users = await sql()`
    insert into "user" (name) select 'user ' || g from generate_series(1, 99) g returning id`;
  const ids = [other, ...users.map((u) => Number(u.id))];
  await sql()`
    insert into job (user_id, name)
    select (${JSON.stringify(ids)}::json ->> (g % 100))::bigint, 'job ' || g
    from generate_series(0, 3999) g`;
  const [first, second] = await sql()`
    select id from job where user_id = ${other} order by id limit 2`;
  jobs.others = Number(first!.id);
  jobs.foreign = Number(second!.id);
  const [withResults, recent] = await addJobs(caller, 2);
  jobs.withResults = withResults!;
  jobs.recent = recent!;
  await addRuns(jobs.others, other, 20_000);
  await addRuns(jobs.foreign, other, 5000);
  await addRuns(jobs.withResults, caller, 5000);
  await sql()`
    update run set results_key = 'k' || id, results_uploaded_at = now()
    where id in (select id from run where job_id = ${jobs.withResults} order by id limit 10)`;
  await addRuns(jobs.recent, caller, 5000);
  await sql()`
    insert into upload (job_id, context, type, key, time_expires)
    select ${jobs.foreign}, 'job', 'config', 'k' || g, now() from generate_series(1, 200) g`;
  // The caller's job: its input, then an upload URL issued for each of 3,000 of its runs.
  await sql()`
    insert into upload (job_id, context, type, key, time_expires)
    values (${jobs.recent}, 'job', 'input', 'input', now())`;
  await sql()`
    insert into upload (job_id, run_id, context, type, key, time_expires)
    select job_id, id, 'run', 'results', 'k' || id, now() from run
    where job_id = ${jobs.recent} order by id limit 3000`;
  await sql()`analyze`;
}, 60_000);

describe("reads that do not grow with the table", () => {
  it("a page of a job's runs reads that page, also when the job's runs are the newest", async () => {
    const first = await rowsRead("run", () =>
      Run.list({ userId: caller, jobId: jobs.recent, limit: 100 }),
    );
    expect(first.value?.items).toHaveLength(100);
    expect(first.rows).toBeLessThanOrEqual(101 + PLANNING);
    const deep = await rowsRead("run", () =>
      Run.list({
        userId: caller,
        jobId: jobs.recent,
        limit: 100,
        cursor: first.value!.items[99]!.id + 3000,
      }),
    );
    expect(deep.value?.items).toHaveLength(100);
    expect(deep.rows).toBeLessThanOrEqual(101 + PLANNING);
  });

  it("another user's job reads none of its runs or uploads: its 404 costs a lookup", async () => {
    const ref = { userId: caller, jobId: jobs.foreign };
    const all = await rowsRead("run", () => Run.forEachPageOf(ref, () => {}));
    expect(all.error).toBeInstanceOf(Error);
    expect((all.error as Error).message).toMatch(/not found/i);
    expect(all.rows).toBe(0);
    const page = await rowsRead("run", () => Run.list(ref));
    expect(page.error).toBeDefined();
    expect(page.rows).toBe(0);
    for (const table of ["upload", "run"] as const) {
      const detail = await rowsRead(table, () => Job.detail(ref));
      expect(detail.error).toMatchObject({ code: "not_found" });
      expect(detail.rows, table).toBe(0);
    }
    // The owner sees them: the reads above were empty for the right reason.
    const own = await Job.detail({ userId: other, jobId: jobs.foreign });
    expect(own.uploads).toHaveLength(200);
  });

  it("a job's own uploads are read without the uploads of its runs", async () => {
    const read = await rowsRead("upload", () => Job.detail({ userId: caller, jobId: jobs.recent }));
    expect(read.value?.uploads.map((u) => u.type)).toEqual(["input"]);
    expect(read.rows).toBeLessThanOrEqual(1 + PLANNING);
  });

  it("a job's runs with results are read without its other runs", async () => {
    const read = await rowsRead("run", () =>
      Run.withResults({ userId: caller, jobId: jobs.withResults }),
    );
    expect(read.value).toHaveLength(10);
    expect(read.rows).toBeLessThanOrEqual(10 + PLANNING);
  });

  it("a user's newest jobs are read without the newer jobs of others", async () => {
    const read = await rowsRead("job", () => Job.list({ userId: oldTimer, limit: 20 }));
    expect(read.value?.items).toHaveLength(20);
    expect(read.rows).toBeLessThanOrEqual(21 + PLANNING);
  });

  it("a submission finds its jobs by id, not by reading the job table", async () => {
    // For a user with many jobs, Postgres had planned the lookup as a read of every job (it
    // guessed 100 ids in the json list): a submission's time grew with the table.
    const [job] = await Job.list({ userId: oldTimer, limit: 1 }).then((p) => p.items);
    const read = await rowsRead("job", () =>
      Run.submit({ userId: oldTimer, runs: [runRequest(job!.id), runRequest(job!.id)] }),
    );
    expect(read.value).toHaveLength(2);
    expect(read.rows).toBeLessThanOrEqual(3); // the lookup, and each run's foreign-key check
  });
});
