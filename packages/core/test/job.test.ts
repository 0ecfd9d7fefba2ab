import { sql } from "@fred/core/drizzle";
import type { ConflictError } from "@fred/core/error";
import { Job } from "@fred/core/job";
import { Run } from "@fred/core/run";
import { Upload } from "@fred/core/upload";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { objectExists } from "../src/upload/s3";
import { makeUser, runRequest } from "./fixtures";

describe("jobs", () => {
  it("creates, reads and lists a user's jobs, newest first, in stable pages", async () => {
    const { user } = await makeUser();
    const job = await Job.create({
      userId: user.id,
      name: "flu",
      tags: ["info_job", "info_job", "a"],
      metadata: { k: 1 },
    });
    expect(job).toMatchObject({
      name: "flu",
      status: "created",
      tags: ["info_job", "a"],
      metadata: { k: 1 },
    });
    expect(await Job.get({ userId: user.id, jobId: job.id })).toEqual(job);

    for (let i = 0; i < 4; i++) await Job.create({ userId: user.id, name: `j${i}` });
    const first = await Job.list({ userId: user.id, limit: 2 });
    expect(first.items.map((j) => j.name)).toEqual(["j3", "j2"]);
    const second = await Job.list({ userId: user.id, limit: 2, cursor: first.nextCursor! });
    expect(second.items.map((j) => j.name)).toEqual(["j1", "j0"]);
    const third = await Job.list({ userId: user.id, limit: 2, cursor: second.nextCursor! });
    expect(third.items.map((j) => j.name)).toEqual(["flu"]);
    expect(third.nextCursor).toBeNull();
  });

  it("reads every tag back as it was stored, whatever Postgres's array text must escape", async () => {
    const { user } = await makeUser();
    const tricky = [
      "a\\b",
      "\\",
      '"quoted"',
      '\\"',
      "{brace}",
      "a,b",
      "in side",
      "NULL",
      "null",
      "ünï 🧪",
    ];
    const job = await Job.create({ userId: user.id, tags: tricky });
    expect(job.tags).toEqual(tricky);
    expect((await Job.get({ userId: user.id, jobId: job.id })).tags).toEqual(tricky);
    expect((await Job.list({ userId: user.id, limit: 1 })).items[0]!.tags).toEqual(tricky);
    expect((await Job.create({ userId: user.id })).tags).toEqual([]);
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.string({ unit: "grapheme", minLength: 1 }), { maxLength: 5 }),
        async (raw) => {
          const tags = raw.filter((t) => Job.Tag().safeParse(t).success && t === t.trim());
          const made = await Job.create({ userId: user.id, tags });
          expect((await Job.get({ userId: user.id, jobId: made.id })).tags).toEqual(tags);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("gives metadata numbers back as sent, at the edges of what JSON.parse keeps", async () => {
    const { user } = await makeUser();
    const metadata = {
      max: Number.MAX_SAFE_INTEGER,
      min: Number.MIN_SAFE_INTEGER,
      huge: 1.5e300,
      avogadro: 6.02214076e23,
      tiny: 5e-324,
      frac: -0.1,
      nested: [{ proto: "__proto", n: 2 ** 53 - 1 }],
    };
    const job = await Job.create({ userId: user.id, metadata });
    expect((await Job.get({ userId: user.id, jobId: job.id })).metadata).toEqual(metadata);
  });

  it("another user's job is not found, in reads, lists and transitions", async () => {
    const a = await makeUser("A");
    const b = await makeUser("B");
    const job = await Job.create({ userId: a.user.id });
    await expect(Job.get({ userId: b.user.id, jobId: job.id })).rejects.toMatchObject({
      code: "not_found",
    });
    expect((await Job.list({ userId: b.user.id })).items).toEqual([]);
    await expect(
      Job.transition({ userId: b.user.id, jobId: job.id, to: "cancelled" }),
    ).rejects.toMatchObject({ code: "not_found" });
    expect((await Job.get({ userId: a.user.id, jobId: job.id })).status).toBe("created");
  });

  it("enforces its limits", async () => {
    const { user } = await makeUser();
    const bad = [
      { tags: Array.from({ length: 51 }, (_, i) => `t${i}`) },
      { tags: ["x".repeat(101)] },
      { tags: [""] },
      { name: "n".repeat(201) },
      { name: "nul\u0000" },
      { description: "d".repeat(2001) },
      { metadata: { big: "x".repeat(17_000) } },
      { metadata: { nul: "a\u0000b" } },
      // What JSON.parse makes of values it cannot keep: refused, not stored altered.
      { metadata: { inf: Number.POSITIVE_INFINITY } },
      { metadata: { deep: [{ n: Number.NEGATIVE_INFINITY }] } },
      { unknown: true },
    ];
    for (const input of bad) {
      await expect(
        Job.create({ userId: user.id, ...input } as never),
        JSON.stringify(input).slice(0, 60),
      ).rejects.toMatchObject({
        code: "invalid",
      });
    }
    expect((await Job.list({ userId: user.id })).items).toHaveLength(0);
  });

  const statuses = Job.Status.options;
  const pairs = statuses.flatMap((from) => statuses.map((to) => [from, to] as const));

  it.each(pairs)("a %s job may become %s only if the state machine allows it", async (from, to) => {
    const { user } = await makeUser();
    const job = await Job.create({ userId: user.id });
    await reach(user.id, job.id, from);
    const attempt = Job.transition({ userId: user.id, jobId: job.id, to });
    if (Job.canTransition(from, to)) {
      await expect(attempt).resolves.toMatchObject({ status: to });
    } else {
      await expect(attempt).rejects.toMatchObject({ code: "conflict" });
      expect((await Job.get({ userId: user.id, jobId: job.id })).status).toBe(from);
    }
  });

  it("two racing transitions from one state: exactly one wins", async () => {
    const { user } = await makeUser();
    const job = await Job.create({ userId: user.id });
    const results = await Promise.allSettled([
      Job.transition({ userId: user.id, jobId: job.id, to: "submitted" }),
      Job.transition({ userId: user.id, jobId: job.id, to: "submitted" }),
    ]);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
  });

  it("a job's detail is one snapshot: never created with its input, nor submitted without", async () => {
    // Recording the job input's upload moves the job to submitted in the same statement.
    const { user } = await makeUser();
    const seen: [Job.Status, boolean][] = [];
    for (let i = 0; i < 30; i++) {
      const job = await Job.create({ userId: user.id });
      const ref = { userId: user.id, jobId: job.id };
      const [, ...details] = await Promise.all([
        Upload.issue({ ...ref, context: "job", type: "input" }),
        ...Array.from({ length: 8 }, () => Job.detail(ref)),
      ]);
      for (const d of details) seen.push([d.job.status, d.uploads.some((u) => u.type === "input")]);
    }
    const torn = seen.filter(([status, input]) => (status === "created") === input);
    expect(torn).toEqual([]);
    expect(new Set(seen.map(([status]) => status))).toEqual(new Set(["created", "submitted"]));
  });

  it("a job's own upload asked for while the job is being cancelled waits, then is refused", async () => {
    const { user } = await makeUser();
    const job = await Job.create({ userId: user.id });
    const ref = { userId: user.id, jobId: job.id };
    let asked: Promise<unknown> | undefined;
    let settled = false;
    await sql().begin(async (tx) => {
      await tx`update job set status = 'cancelled' where id = ${job.id}`;
      asked = Upload.issue({ ...ref, context: "job", type: "config" }).finally(() => {
        settled = true;
      });
      asked.catch(() => {});
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(settled).toBe(false); // the job's row lock holds it back
    });
    await expect(asked).rejects.toMatchObject({ code: "conflict" });
    expect((await Job.detail(ref)).uploads).toEqual([]);
  });

  it("a move refused while another commits names a state it is refused from", async () => {
    const { user } = await makeUser();
    for (let i = 0; i < 40; i++) {
      const job = await Job.create({ userId: user.id });
      await reach(user.id, job.id, "failed");
      // failed → cancelled is refused, failed → submitted → cancelled is not.
      const [cancel, resubmit] = await Promise.allSettled([
        Job.transition({ userId: user.id, jobId: job.id, to: "cancelled" }),
        Job.transition({ userId: user.id, jobId: job.id, to: "submitted" }),
      ]);
      const final = (await Job.get({ userId: user.id, jobId: job.id })).status;
      expect(resubmit.status).toBe("fulfilled");
      // As if one after the other: cancelled after the resubmission, or refused before it,
      // as a failed job (never "a submitted job cannot become cancelled").
      if (cancel.status === "fulfilled") expect(final).toBe("cancelled");
      else {
        expect(final).toBe("submitted");
        expect((cancel.reason as ConflictError).details).toMatchObject({ from: "failed" });
      }
    }
  });
});

/** Walks a new job to `status` along allowed moves. */
async function reach(userId: number, jobId: number, status: Job.Status) {
  const path: Record<Job.Status, Job.Status[]> = {
    created: [],
    submitted: ["submitted"],
    processing: ["submitted", "processing"],
    completed: ["submitted", "processing", "completed"],
    failed: ["submitted", "processing", "failed"],
    cancelled: ["cancelled"],
  };
  for (const to of path[status]) await Job.transition({ userId, jobId, to });
}

describe("Job.find", () => {
  it("returns every match, or refuses a search past LIMITS.found: never a list cut short", async () => {
    const { user } = await makeUser("Finder");
    await sql()`insert into job (user_id, tags)
                select ${user.id}, case when g % 2 = 0 then '{even}'::text[] else '{odd}' end
                from generate_series(1, ${Job.LIMITS.found + 1}) g`;
    await expect(Job.find({ userId: user.id })).rejects.toMatchObject({
      code: "invalid",
      message: expect.stringContaining("narrow the search"),
    });
    const even = await Job.find({ userId: user.id, tags: ["even"] });
    expect(even).toHaveLength((Job.LIMITS.found + 1) >> 1);
    expect(even.every((j) => j.tags.includes("even"))).toBe(true);
    expect(even.map((j) => j.id)).toEqual([...even.map((j) => j.id)].sort((a, b) => b - a));
    const [latest] = await Job.find({ userId: user.id, limit: 1 });
    expect(latest!.id).toBe(Math.max(...even.map((j) => j.id)) + 1);
  });
});

describe("Job.remove", () => {
  const put = async (url: string) => (await fetch(url, { method: "PUT", body: "bytes" })).status;
  const rows = async (jobId: number) => {
    const [counts] = await sql()`select
      (select count(*)::int from job where id = ${jobId}) as jobs,
      (select count(*)::int from run where job_id = ${jobId}) as runs,
      (select count(*)::int from upload where job_id = ${jobId}) as uploads`;
    return counts;
  };

  it("deletes the objects of the job and of its runs, then the job with its runs and uploads", async () => {
    const { user } = await makeUser("Remover");
    const job = await Job.create({ userId: user.id });
    const ref = { userId: user.id, jobId: job.id };
    const [run] = await Run.submit({ userId: user.id, runs: [runRequest(job.id)] });
    const input = await Upload.issue({ ...ref, context: "job", type: "input" });
    const results = await Upload.issue({ ...ref, runId: run!.id, context: "run", type: "results" });
    // Issued twice: one object, two upload rows.
    const again = await Upload.issue({ ...ref, context: "job", type: "input" });
    expect(again.key).toBe(input.key);
    const other = await Job.create({ userId: user.id });
    const kept = await Upload.issue({
      userId: user.id,
      jobId: other.id,
      context: "job",
      type: "input",
    });
    for (const p of [input, results, kept]) expect(await put(p.url)).toBe(200);
    expect(await rows(job.id)).toEqual({ jobs: 1, runs: 1, uploads: 3 });

    await Job.remove(ref);
    expect(await objectExists(input.key)).toBe(false);
    expect(await objectExists(results.key)).toBe(false);
    expect(await objectExists(kept.key)).toBe(true);
    expect(await rows(job.id)).toEqual({ jobs: 0, runs: 0, uploads: 0 });
    await expect(Job.remove(ref)).rejects.toMatchObject({ code: "not_found" });
  });

  it("refuses a processing job, and another user's, deleting nothing", async () => {
    const { user } = await makeUser("Busy");
    const stranger = await makeUser("Stranger");
    const job = await Job.create({ userId: user.id });
    const ref = { userId: user.id, jobId: job.id };
    await Run.submit({ userId: user.id, runs: [runRequest(job.id)] });
    const input = await Upload.issue({ ...ref, context: "job", type: "input" });
    expect(await put(input.url)).toBe(200);
    await Job.transition({ ...ref, to: "processing" });
    await expect(Job.remove(ref)).rejects.toMatchObject({
      code: "conflict",
      message: `Job ${job.id} is processing: cancel it first.`,
    });
    await expect(Job.remove({ userId: stranger.user.id, jobId: job.id })).rejects.toMatchObject({
      code: "not_found",
    });
    expect(await objectExists(input.key)).toBe(true);
    expect(await rows(job.id)).toEqual({ jobs: 1, runs: 1, uploads: 1 });
    await Job.transition({ ...ref, to: "cancelled" });
    await Job.remove(ref);
    expect(await rows(job.id)).toEqual({ jobs: 0, runs: 0, uploads: 0 });
  });
});
