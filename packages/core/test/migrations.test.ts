import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import postgres from "postgres";
import { expect, inject, it } from "vitest";
import { applyMigrations, MIGRATIONS } from "../../scripts/src/local/migrate";
import { createTestDatabase } from "../../scripts/src/test/database";

it("migrations apply to an empty database, a second apply is a no-op, and no column is an array", async () => {
  const url = await createTestDatabase(inject("adminDatabaseUrl"), "template0");
  const client = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const before =
      await client`select count(*)::int as n from pg_tables where schemaname = 'public'`;
    expect(before[0]!.n).toBe(0);
    await applyMigrations(url);
    const tables =
      await client`select tablename from pg_tables where schemaname = 'public' order by 1`;
    expect(tables.map((t) => t.tablename)).toEqual(
      expect.arrayContaining(["api_token", "job", "run", "upload", "user"]),
    );
    const applied = await client`select count(*)::int as n from drizzle.__drizzle_migrations`;
    await applyMigrations(url);
    const again = await client`select count(*)::int as n from drizzle.__drizzle_migrations`;
    expect(again[0]!.n).toBe(applied[0]!.n);
    // The app's client reads no array types (fetch_types: false, packages/core/src/drizzle),
    // and drizzle's own text[] parser drops backslashes: lists are stored as json.
    const arrays = await client`
      select table_name, column_name from information_schema.columns
      where table_schema = 'public' and data_type = 'ARRAY'`;
    expect(arrays).toEqual([]);
  } finally {
    await client.end();
  }
});

/** A copy of migrations/ that stops before the migration tagged `tag`. */
async function migrationsBefore(tag: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "fred-migrations-"));
  await cp(MIGRATIONS, dir, { recursive: true });
  const file = path.join(dir, "meta/_journal.json");
  const journal = JSON.parse(await readFile(file, "utf8")) as { entries: { tag: string }[] };
  const at = journal.entries.findIndex((e) => e.tag === tag);
  expect(at).toBeGreaterThan(0);
  journal.entries = journal.entries.slice(0, at);
  await writeFile(file, JSON.stringify(journal));
  return dir;
}

it("0006 keeps every job's tags as they were when it turns text[] into json", async () => {
  const url = await createTestDatabase(inject("adminDatabaseUrl"), "template0");
  const before = await migrationsBefore("0006_job_tags_jsonb");
  const client = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await applyMigrations(url, before);
    const tags = ["a\\b", '"quoted"', "{brace}", "comma, space", "", "NULL", "ünïcode"];
    const [user] = await client`insert into "user" (name) values ('old') returning id`;
    await client`insert into job (user_id, name, tags) values (${user!.id}, 'tagged', ${tags})`;
    await client`insert into job (user_id, name) values (${user!.id}, 'untagged')`;
    await applyMigrations(url);
    await client`insert into job (user_id, name) values (${user!.id}, 'new')`;
    const rows = await client`select name, tags from job order by id`;
    expect(rows.map((r) => [r.name, r.tags])).toEqual([
      ["tagged", tags],
      ["untagged", []],
      ["new", []],
    ]);
  } finally {
    await client.end();
    await rm(before, { recursive: true, force: true });
  }
});
