/**
 * `pnpm db:check`: fails when the *.sql.ts schema and migrations/ disagree, i.e. someone
 * changed a table without running `pnpm db:generate`, or edited the migration history.
 * It generates into a scratch copy of migrations/ and fails if anything new appears.
 */
import { execFileSync } from "node:child_process";
import { cp, mkdtemp, readdir, rm } from "node:fs/promises";
import path from "node:path";
import { MIGRATIONS } from "./local/migrate";

// drizzle-kit wants paths relative to the repository root.
const root = path.resolve(MIGRATIONS, "..");
const kit = path.join(root, "node_modules/.bin/drizzle-kit");
const scratch = await mkdtemp(path.join(root, "node_modules/.db-check-"));
const run = (args: string[]) => execFileSync(kit, args, { cwd: root, stdio: "pipe" });
try {
  run(["check", "--dialect", "postgresql", "--out", "migrations"]);
  await cp(MIGRATIONS, scratch, { recursive: true });
  const before = new Set(await readdir(scratch));
  run([
    "generate",
    "--dialect",
    "postgresql",
    "--schema",
    "./packages/core/src/**/*.sql.ts",
    "--out",
    path.relative(root, scratch),
  ]);
  const added = (await readdir(scratch)).filter((f) => !before.has(f));
  if (added.length) {
    console.error(
      `db:check: the schema has changes with no migration (${added.join(", ")}). Run pnpm db:generate.`,
    );
    process.exit(1);
  }
  console.log("db:check: schema and migrations agree");
} finally {
  await rm(scratch, { recursive: true, force: true });
}
