/**
 * A content hash of a directory tree (relative paths and bytes, in a stable order). The
 * migrations invocation uses the hash of `migrations/` as its trigger, so a deploy runs the
 * migrator exactly when the migrations changed. Pure Node; no SST globals.
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";

export function hashDirectory(dir: string): string {
  const hash = createHash("sha256");
  const walk = (relative: string) => {
    const entries = readdirSync(path.join(dir, relative), { withFileTypes: true }).sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
    );
    for (const entry of entries) {
      const child = relative ? `${relative}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        walk(child);
      } else if (entry.isFile()) {
        const bytes = readFileSync(path.join(dir, child));
        hash.update(`${child}\0${bytes.length}\0`);
        hash.update(bytes);
      }
    }
  };
  walk("");
  return hash.digest("hex");
}
