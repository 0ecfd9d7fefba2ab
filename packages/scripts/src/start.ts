/**
 * `pnpm start`: the whole service on this machine, from a clean clone, with only Node.
 * Postgres and S3 are real servers on loopback (see local/services.ts); Ctrl-C stops all.
 */
import { startServices } from "./local/services";

const log = (line: string) => console.log(`[fred] ${line}`);
const services = await startServices(log);

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  log(`${signal}: stopping`);
  await services.stop();
  process.exit(0);
}
process.on("SIGINT", () => void shutdown("SIGINT"));
process.on("SIGTERM", () => void shutdown("SIGTERM"));
log(`DATABASE_URL=${services.databaseUrl}`);
log("ready (Ctrl-C to stop)");
