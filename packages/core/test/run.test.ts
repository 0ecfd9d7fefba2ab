import { createTransaction, sql } from "@fred/core/drizzle";
import { Job } from "@fred/core/job";
import { Run, type RunRequest } from "@fred/core/run";
import { Upload } from "@fred/core/upload";
import { describe, expect, it } from "vitest";
import { makeUser, runRequest } from "./fixtures";

/** Every run `Run.forEachPageOf` hands over, its pages joined. */
async function allRuns(input: { userId: number; jobId: number }) {
  const runs: Run.Listed[] = [];
  await Run.forEachPageOf(input, (page) => {
    runs.push(...page);
  });
  return runs;
}

/** A listed run's request: the JSON text Postgres holds, parsed. */
const requestOf = (run: Run.Listed) => JSON.parse(run.request.text) as RunRequest;

/** Connections of this test file's database busy with a statement, other than this one. */
async function busy(): Promise<number[]> {
  const rows = await sql()`
    select pid from pg_stat_activity
    where datname = current_database() and pid <> pg_backend_pid() and state <> 'idle'`;
  return rows.map((r) => r.pid as number);
}

/** Connections of this test file's database waiting for a lock. */
async function waiting(): Promise<number> {
  const [row] = await sql()`
    select count(*)::int as n from pg_stat_activity
    where datname = current_database() and wait_event_type = 'Lock'`;
  return row!.n as number;
}

/** A job of 3,000 runs: two pages of a whole-job read. */
async function bigJob() {
  const { user } = await makeUser();
  const job = await Job.create({ userId: user.id });
  for (let i = 0; i < 3; i++)
    await Run.submit({
      userId: user.id,
      runs: Array.from({ length: 1000 }, () => runRequest(job.id)),
    });
  return { userId: user.id, jobId: job.id };
}

async function runCount(jobId: number) {
  const [row] = await sql()`select count(*)::int as n from run where job_id = ${jobId}`;
  return row!.n as number;
}

/** A submitted run as Run.get reads it: its request parsed from the text it hands back. */
const asStored = (run: Run.Submitted): Run.Info => ({
  ...run,
  request: JSON.parse(run.request.text),
});

describe("runs", () => {
  it("submits a batch as Submitted runs, in order, with the request as sent", async () => {
    const { user } = await makeUser();
    const job = await Job.create({ userId: user.id });
    const runs = await Run.submit({
      userId: user.id,
      epxClientVersion: "1.2.2",
      runs: [runRequest(job.id), runRequest(job.id, { size: "cold" })],
    });
    expect(runs).toHaveLength(2);
    expect(runs[0]!.id).toBeLessThan(runs[1]!.id);
    expect(runs[1]).toMatchObject({
      status: "Submitted",
      jobId: job.id,
      userId: user.id,
      epxClientVersion: "1.2.2",
    });
    expect(JSON.parse(runs[1]!.request.text)).toEqual(runRequest(job.id, { size: "cold" }));
    expect(await Run.get({ userId: user.id, runId: runs[0]!.id })).toEqual(asStored(runs[0]!));
  });

  it("answers a submission with each run as stored, every column, across jobs", async () => {
    const { user } = await makeUser();
    const [a, b] = [await Job.create({ userId: user.id }), await Job.create({ userId: user.id })];
    for (const epxClientVersion of ["1.2.2", undefined]) {
      const sent = [runRequest(a.id), runRequest(b.id), runRequest(a.id, { size: "cold" })];
      const runs = await Run.submit({ userId: user.id, epxClientVersion, runs: sent });
      expect(runs.map((r) => r.jobId)).toEqual([a.id, b.id, a.id]);
      for (const run of runs) {
        const stored = await Run.get({ userId: user.id, runId: run.id });
        expect(Object.keys(run).sort()).toEqual(Object.keys(stored).sort());
        expect(asStored(run)).toEqual(stored);
      }
    }
  });

  it("lists each run's request as the JSON text it was stored as", async () => {
    const { user } = await makeUser();
    const job = await Job.create({ userId: user.id });
    const sent = [runRequest(job.id), runRequest(job.id, { size: "cold", workingDir: '/w/é"x' })];
    await Run.submit({ userId: user.id, runs: sent });
    const listed = await allRuns({ userId: user.id, jobId: job.id });
    expect(listed.map((r) => r.request.text)).toEqual(sent.map((r) => JSON.stringify(r)));
  });

  it("a batch submitted inside a transaction goes with it: seen inside, gone on rollback", async () => {
    const { user } = await makeUser();
    const job = await Job.create({ userId: user.id });
    const rolledBack = new Error("rolled back");
    await expect(
      createTransaction(async () => {
        const runs = await Run.submit({ userId: user.id, runs: [runRequest(job.id)] });
        expect(await Run.get({ userId: user.id, runId: runs[0]!.id })).toEqual(asStored(runs[0]!));
        throw rolledBack;
      }),
    ).rejects.toBe(rolledBack);
    expect(await runCount(job.id)).toBe(0);
    // The same statement on the pool, after it ran on the transaction.
    await Run.submit({ userId: user.id, runs: [runRequest(job.id), runRequest(job.id)] });
    expect(await runCount(job.id)).toBe(2);
  });

  it("hands a run's request back as stored: the same keys in the same order", async () => {
    const { user } = await makeUser();
    const job = await Job.create({ userId: user.id });
    const [run] = await Run.submit({ userId: user.id, runs: [runRequest(job.id)] });
    const stored = await Run.get({ userId: user.id, runId: run!.id });
    expect(JSON.stringify(stored.request)).toBe(run!.request.text);
    expect(Object.keys(stored.request)[0]).toBe("jobId");
  });

  it("a run's detail is one snapshot: its results key and its results upload, or neither", async () => {
    // Issuing the results upload records it and sets the run's key in one statement.
    const { user } = await makeUser();
    const job = await Job.create({ userId: user.id });
    const seen: [boolean, boolean][] = [];
    for (let i = 0; i < 30; i++) {
      const [run] = await Run.submit({ userId: user.id, runs: [runRequest(job.id)] });
      const ref = { userId: user.id, runId: run!.id };
      const [, ...details] = await Promise.all([
        Upload.issueForRun({ ...ref, type: "results" }),
        ...Array.from({ length: 8 }, () => Run.detail(ref)),
      ]);
      for (const d of details) {
        seen.push([d.run.resultsKey !== null, d.uploads.some((u) => u.type === "results")]);
      }
    }
    expect(seen.filter(([key, upload]) => key !== upload)).toEqual([]);
    expect(new Set(seen.map(([key]) => key))).toEqual(new Set([false, true]));
  });

  it("a run's detail is the run and its uploads in order; another user's run is not found", async () => {
    const { user } = await makeUser();
    const job = await Job.create({ userId: user.id });
    const [run] = await Run.submit({ userId: user.id, runs: [runRequest(job.id)] });
    const ref = { userId: user.id, runId: run!.id };
    expect(await Run.detail(ref)).toEqual({ run: await Run.get(ref), uploads: [] });
    const config = await Upload.issueForRun({ ...ref, type: "config" });
    const logs = await Upload.issueForRun({ ...ref, type: "logs" });
    const { uploads } = await Run.detail(ref);
    expect(uploads.map((u) => u.key)).toEqual([config.key, logs.key]);
    expect(uploads[0]!.timeCreated).toBeInstanceOf(Date);
    const other = await makeUser("Eve");
    await expect(Run.detail({ userId: other.user.id, runId: run!.id })).rejects.toMatchObject({
      code: "not_found",
    });
  });

  it("a batch with one invalid run inserts nothing", async () => {
    const { user } = await makeUser();
    const job = await Job.create({ userId: user.id });
    const batch = [runRequest(job.id), runRequest(job.id, { fredVersion: 11 }), runRequest(job.id)];
    await expect(Run.submit({ userId: user.id, runs: batch as never })).rejects.toMatchObject({
      code: "invalid",
      details: [expect.objectContaining({ path: "runs.1.fredVersion" })],
    });
    expect(await runCount(job.id)).toBe(0);
  });

  it("says which text cannot be stored: a NUL, or a lone surrogate", async () => {
    const { user } = await makeUser();
    const job = await Job.create({ userId: user.id });
    const batch = [
      runRequest(job.id, { workingDir: "/w/\u0000" }),
      runRequest(job.id, { size: "hot\ud800" }),
    ];
    await expect(Run.submit({ userId: user.id, runs: batch })).rejects.toMatchObject({
      code: "invalid",
      details: [
        { path: "runs.0.workingDir", message: "Text may not contain NUL characters." },
        { path: "runs.1.size", message: "Text must be valid Unicode (no lone surrogates)." },
      ],
    });
    expect(await runCount(job.id)).toBe(0);
  });

  it("a batch naming another user's job inserts nothing and says not found", async () => {
    const a = await makeUser("A");
    const b = await makeUser("B");
    const mine = await Job.create({ userId: a.user.id });
    const theirs = await Job.create({ userId: b.user.id });
    await expect(
      Run.submit({ userId: a.user.id, runs: [runRequest(mine.id), runRequest(theirs.id)] }),
    ).rejects.toMatchObject({ code: "not_found" });
    expect(await runCount(mine.id)).toBe(0);
    expect(await runCount(theirs.id)).toBe(0);
  });

  it(`takes 1..${Run.LIMITS.batch} runs per call`, async () => {
    const { user } = await makeUser();
    const job = await Job.create({ userId: user.id });
    await expect(Run.submit({ userId: user.id, runs: [] })).rejects.toMatchObject({
      code: "invalid",
    });
    const tooMany = Array.from({ length: Run.LIMITS.batch + 1 }, () => runRequest(job.id));
    await expect(Run.submit({ userId: user.id, runs: tooMany })).rejects.toMatchObject({
      code: "invalid",
    });
    const max = Array.from({ length: Run.LIMITS.batch }, () => runRequest(job.id));
    expect(await Run.submit({ userId: user.id, runs: max })).toHaveLength(Run.LIMITS.batch);
    expect(await runCount(job.id)).toBe(Run.LIMITS.batch);
  });

  it("a cancelled job accepts no runs", async () => {
    const { user } = await makeUser();
    const job = await Job.create({ userId: user.id });
    await Job.transition({ userId: user.id, jobId: job.id, to: "cancelled" });
    await expect(Run.submit({ userId: user.id, runs: [runRequest(job.id)] })).rejects.toMatchObject(
      {
        code: "conflict",
      },
    );
  });

  it("a batch submitted while its job is being cancelled waits, then inserts nothing", async () => {
    const { user } = await makeUser();
    const job = await Job.create({ userId: user.id });
    let submitted: Promise<unknown> | undefined;
    let settled = false;
    await sql().begin(async (tx) => {
      await tx`update job set status = 'cancelled' where id = ${job.id}`;
      submitted = Run.submit({ userId: user.id, runs: [runRequest(job.id)] }).finally(() => {
        settled = true;
      });
      submitted.catch(() => {});
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(settled).toBe(false); // the job's row lock holds the batch back
    });
    await expect(submitted).rejects.toMatchObject({ code: "conflict" });
    expect(await runCount(job.id)).toBe(0);
  });

  it("a client paging with its last cursor sees every run, though batches for its job overlap", async () => {
    const { user } = await makeUser();
    const job = await Job.create({ userId: user.id });
    const batch = () => ({ userId: user.id, runs: [1, 2, 3].map(() => runRequest(job.id)) });
    // The first batch's runs are inserted (their ids drawn) and its transaction held open.
    let inserted!: () => void;
    let release!: () => void;
    const insertedFirst = new Promise<void>((resolve) => (inserted = resolve));
    const held = new Promise<void>((resolve) => (release = resolve));
    const first = createTransaction(async () => {
      const runs = await Run.submit(batch());
      inserted();
      await held;
      return runs;
    });
    await insertedFirst;
    // A second batch for the job: it waits for the first, or (as once) commits at once with
    // higher ids. Either way, a client reads a page then.
    let secondDone = false;
    const second = Run.submit(batch()).finally(() => {
      secondDone = true;
    });
    while (!secondDone && (await waiting()) === 0) await new Promise((r) => setTimeout(r, 10));
    const seen = (await Run.list({ userId: user.id, jobId: job.id, limit: 100 })).items;
    release();
    const all = [...(await first), ...(await second)].map((r) => r.id).sort((a, b) => a - b);
    const cursor = seen.at(-1)?.id;
    const rest = (await Run.list({ userId: user.id, jobId: job.id, limit: 100, cursor })).items;
    expect([...seen, ...rest].map((r) => r.id)).toEqual(all);
  });

  it("a batch naming an open and a completed job inserts nothing and says which is closed", async () => {
    const { user } = await makeUser();
    const open = await Job.create({ userId: user.id });
    const done = await Job.create({ userId: user.id });
    for (const to of ["submitted", "processing", "completed"] as const) {
      await Job.transition({ userId: user.id, jobId: done.id, to });
    }
    await expect(
      Run.submit({ userId: user.id, runs: [runRequest(open.id), runRequest(done.id)] }),
    ).rejects.toMatchObject({ code: "conflict", message: expect.stringContaining(`${done.id}`) });
    expect(await runCount(open.id)).toBe(0);
    expect(await runCount(done.id)).toBe(0);
  });

  it("the database keeps a run's user its job's owner, and deleting a user deletes their runs", async () => {
    const a = await makeUser("A");
    const b = await makeUser("B");
    const job = await Job.create({ userId: a.user.id });
    const [run] = await Run.submit({ userId: a.user.id, runs: [runRequest(job.id)] });
    await expect(
      sql()`insert into run (job_id, user_id, request) values (${job.id}, ${b.user.id}, '{}')`,
    ).rejects.toMatchObject({ code: "23503" });
    await expect(
      sql()`update run set user_id = ${b.user.id} where id = ${run!.id}`,
    ).rejects.toMatchObject({ code: "23503" });
    await sql()`delete from "user" where id = ${a.user.id}`;
    expect(await runCount(job.id)).toBe(0);
  });

  it("50 concurrent batch submissions produce exactly the expected rows with unique ids", async () => {
    const { user } = await makeUser();
    const job = await Job.create({ userId: user.id });
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        Run.submit({
          userId: user.id,
          runs: Array.from({ length: 7 }, (_, j) =>
            runRequest(job.id, { workingDir: `/w/${i}/${j}` }),
          ),
        }),
      ),
    );
    const ids = results.flat().map((r) => r.id);
    expect(new Set(ids).size).toBe(350);
    expect(await runCount(job.id)).toBe(350);
    const dirs = (await allRuns({ userId: user.id, jobId: job.id })).map(
      (r) => requestOf(r).workingDir,
    );
    expect(new Set(dirs).size).toBe(350);
  });

  it("hands a job's runs over whole a page at a time: each once, in order, as of one snapshot", async () => {
    const { user } = await makeUser();
    const job = await Job.create({ userId: user.id });
    const other = await Job.create({ userId: user.id });
    const ids: number[] = [];
    for (const n of [1000, 1000, 345]) {
      const runs = await Run.submit({
        userId: user.id,
        runs: Array.from({ length: n }, (_, i) =>
          runRequest(job.id, { size: `s${ids.length + i}` }),
        ),
      });
      ids.push(...runs.map((r) => r.id));
      await Run.submit({ userId: user.id, runs: [runRequest(other.id)] }); // interleaved ids
    }
    const pageSizes: number[] = [];
    const seen: { id: number; size: string }[] = [];
    let late: number | undefined;
    await Run.forEachPageOf({ userId: user.id, jobId: job.id }, async (page) => {
      pageSizes.push(page.length);
      seen.push(...page.map((r) => ({ id: r.id, size: requestOf(r).size })));
      // Submitted while the list is being read (the tests' pool has a second connection):
      // stored, but not part of this list.
      late ??= (await Run.submit({ userId: user.id, runs: [runRequest(job.id)] }))[0]!.id;
    });
    expect(pageSizes).toEqual([Run.ALL_PAGE, 2345 - Run.ALL_PAGE]);
    expect(seen).toEqual(ids.map((id, i) => ({ id, size: `s${i}` })));
    expect((await allRuns({ userId: user.id, jobId: job.id })).at(-1)?.id).toBe(late);
  });

  it("hands a job of exactly one page of runs over in one page, and one run more in two", async () => {
    const { user } = await makeUser();
    const job = await Job.create({ userId: user.id });
    for (let n = 0; n < Run.ALL_PAGE; n += 1000) {
      const runs = Array.from({ length: 1000 }, () => runRequest(job.id));
      await Run.submit({ userId: user.id, runs });
    }
    const pages = async () => {
      const sizes: number[] = [];
      await Run.forEachPageOf({ userId: user.id, jobId: job.id }, (page) => {
        sizes.push(page.length);
      });
      return sizes;
    };
    expect(await pages()).toEqual([Run.ALL_PAGE]);
    await Run.submit({ userId: user.id, runs: [runRequest(job.id)] });
    expect(await pages()).toEqual([Run.ALL_PAGE, 1]);
  });

  it("a whole-job read whose page handler throws rejects with that error and closes its cursor", async () => {
    const job = await bigJob();
    const pages: number[] = [];
    const read = Run.forEachPageOf(job, async (page) => {
      pages.push(page.length);
      expect(await busy()).toHaveLength(1); // the cursor, waiting for this page to be handled
      throw new Error("stop here");
    });
    await expect(read).rejects.toThrow("stop here");
    expect(pages).toEqual([Run.ALL_PAGE]);
    await expect.poll(async () => (await busy()).length).toBe(0);
    // Its connection reads whole results again (postgres.js kept the failed cursor's row
    // count, and the next result began with that many holes: patches/postgres@3.4.9.patch).
    for (let i = 0; i < 3; i++) {
      const runs = await allRuns(job);
      expect(runs).toHaveLength(3000);
      expect(runs.every((r) => r?.jobId === job.jobId)).toBe(true);
    }
  });

  it("a whole-job read whose connection dies between pages rejects as unavailable", async () => {
    const job = await bigJob();
    const pages: number[] = [];
    const read = Run.forEachPageOf(job, async (page) => {
      pages.push(page.length);
      const [cursor] = await busy();
      await sql()`select pg_terminate_backend(${cursor!})`;
      await new Promise((r) => setTimeout(r, 50)); // the connection closes meanwhile
    });
    await expect(read).rejects.toMatchObject({ code: "unavailable" });
    expect(pages).toEqual([Run.ALL_PAGE]); // never a short list that looks whole
    expect(await allRuns(job)).toHaveLength(3000); // and the pool serves again
  });

  it("lists a job's runs in keyset pages and all at once; others see nothing", async () => {
    const a = await makeUser("A");
    const b = await makeUser("B");
    const job = await Job.create({ userId: a.user.id });
    const runs = await Run.submit({
      userId: a.user.id,
      runs: Array.from({ length: 5 }, () => runRequest(job.id)),
    });
    const page1 = await Run.list({ userId: a.user.id, jobId: job.id, limit: 2 });
    const page2 = await Run.list({
      userId: a.user.id,
      jobId: job.id,
      limit: 2,
      cursor: page1.nextCursor!,
    });
    const page3 = await Run.list({
      userId: a.user.id,
      jobId: job.id,
      limit: 2,
      cursor: page2.nextCursor!,
    });
    expect([...page1.items, ...page2.items, ...page3.items].map((r) => r.id)).toEqual(
      runs.map((r) => r.id),
    );
    expect(page3.nextCursor).toBeNull();
    expect((await allRuns({ userId: a.user.id, jobId: job.id })).map((r) => r.id)).toEqual(
      runs.map((r) => r.id),
    );

    await expect(Run.list({ userId: b.user.id, jobId: job.id })).rejects.toMatchObject({
      code: "not_found",
    });
    await expect(allRuns({ userId: b.user.id, jobId: job.id })).rejects.toMatchObject({
      code: "not_found",
    });
    await expect(Run.get({ userId: b.user.id, runId: runs[0]!.id })).rejects.toMatchObject({
      code: "not_found",
    });
    await expect(
      Run.update({ userId: b.user.id, runId: runs[0]!.id, status: "DONE" }),
    ).rejects.toMatchObject({ code: "not_found" });
    // A job's detail, with its run counts, is A's alone.
    expect((await Job.detail({ userId: a.user.id, jobId: job.id })).runCounts).toEqual({
      Submitted: 5,
    });
    await expect(Job.detail({ userId: b.user.id, jobId: job.id })).rejects.toMatchObject({
      code: "not_found",
    });
  });

  it("counts runs by status and records the runner's updates", async () => {
    const { user } = await makeUser();
    const job = await Job.create({ userId: user.id });
    const [r1, r2] = await Run.submit({
      userId: user.id,
      runs: [runRequest(job.id), runRequest(job.id)],
    });
    await Run.update({ userId: user.id, runId: r1!.id, status: "RUNNING", podPhase: "Running" });
    expect((await Job.detail({ userId: user.id, jobId: job.id })).runCounts).toEqual({
      Submitted: 1,
      RUNNING: 1,
    });
    // Results cannot be marked uploaded before an upload was issued; nothing changes.
    await expect(
      Run.update({ userId: user.id, runId: r2!.id, status: "DONE", resultsUploaded: true }),
    ).rejects.toMatchObject({ code: "conflict" });
    expect((await Run.get({ userId: user.id, runId: r2!.id })).status).toBe("Submitted");
  });
});
