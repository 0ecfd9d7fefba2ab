/** The same app on Node's HTTP server, for `pnpm start` and load tests. */
import { type ServerType, serve } from "@hono/node-server";
import { app } from "./api/app";

export function listen(port: number, hostname = "127.0.0.1"): Promise<ServerType> {
  return new Promise((resolve) => {
    const server = serve({ fetch: app.fetch, port, hostname }, () => resolve(server));
  });
}
