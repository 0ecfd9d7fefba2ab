import { cp, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { hashDirectory } from "./hash";

const root = path.resolve(import.meta.dirname, "..");
const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function copyOfMigrations(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "fred-hash-"));
  dirs.push(dir);
  await cp(path.join(root, "migrations"), dir, { recursive: true });
  return dir;
}

describe("hashDirectory (the migrations trigger)", () => {
  it("is stable for the same content, wherever it lives", async () => {
    const copy = await copyOfMigrations();
    expect(hashDirectory(copy)).toBe(hashDirectory(path.join(root, "migrations")));
    expect(hashDirectory(copy)).toMatch(/^[0-9a-f]{64}$/);
  });

  it("changes when a migration is added or edited, including the journal", async () => {
    const copy = await copyOfMigrations();
    const before = hashDirectory(copy);
    await writeFile(path.join(copy, "9999_next.sql"), "select 1;");
    const added = hashDirectory(copy);
    expect(added).not.toBe(before);
    await writeFile(path.join(copy, "meta", "_journal.json"), "{}");
    expect(hashDirectory(copy)).not.toBe(added);
  });

  it("tells a renamed file from the original", async () => {
    const a = await mkdtemp(path.join(tmpdir(), "fred-hash-"));
    const b = await mkdtemp(path.join(tmpdir(), "fred-hash-"));
    dirs.push(a, b);
    await writeFile(path.join(a, "0001_x.sql"), "select 1;");
    await writeFile(path.join(b, "0001_y.sql"), "select 1;");
    expect(hashDirectory(a)).not.toBe(hashDirectory(b));
  });
});
