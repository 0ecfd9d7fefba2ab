/**
 * A network link to Postgres with a delay each way, as between a Lambda and RDS Proxy:
 * a TCP relay on loopback that holds every chunk for `oneWayMs` before passing it on, and
 * counts round trips (a chunk to the server, then the server's answer). Loopback hides
 * round trips; this makes each one cost what it costs in a VPC.
 */
import net from "node:net";

/** The one-way delay the figures use (Node's timers go no finer than 1 ms). */
export const LINK_MS = 1;

export interface Link {
  /** `url` with the host and port of the relay. */
  url: string;
  /** Round trips since the last `reset()`. */
  roundTrips(): number;
  reset(): void;
  close(): Promise<void>;
}

export async function delayedLink(url: string, oneWayMs: number): Promise<Link> {
  const target = new URL(url);
  let trips = 0;
  // Each connection alternates: the client speaks, then the server answers (one trip).
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port), target.hostname);
    let waiting = false;
    for (const s of [client, upstream]) {
      s.setNoDelay(true);
      sockets.add(s);
      s.on("error", () => {});
      s.on("close", () => {
        client.destroy();
        upstream.destroy();
        sockets.delete(s);
      });
    }
    client.on("data", (chunk) => {
      waiting = true;
      setTimeout(() => upstream.write(chunk), oneWayMs);
    });
    upstream.on("data", (chunk) => {
      if (waiting) trips++;
      waiting = false;
      setTimeout(() => client.write(chunk), oneWayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  const relayed = new URL(url);
  relayed.host = `127.0.0.1:${port}`;
  return {
    url: relayed.toString(),
    roundTrips: () => trips,
    reset: () => {
      trips = 0;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
