import postgres from "postgres";
import { expect, inject, it } from "vitest";
import { applyMigrations } from "../../scripts/src/local/migrate";
import { createTestDatabase } from "../../scripts/src/test/database";

it("migrations apply to an empty database, and a second apply is a no-op", async () => {
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
  } finally {
    await client.end();
  }
});
