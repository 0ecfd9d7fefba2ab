/**
 * Figure 3, HTTP throughput: the local server (`pnpm start`'s `listen`, bundled the way
 * Lambda's code is, run by plain `node`, real Postgres, pool of 10) under autocannon at 1,
 * 10 and 50 connections, against a hello-world Hono route on the same kind of server
 * (@hono/node-server). Both servers' memory is read from /proc (figure 5).
 */
import type { ChildProcess } from "node:child_process";
import path from "node:path";
import { pathToFileURL } from "node:url";
import autocannon from "autocannon";
import { freePort } from "../packages/scripts/src/local/postgres";
import { bundleApiServer, bundleSource, HELLO_SERVER } from "./lib/bundle";
import { memoryOf, startChild, stopChild } from "./lib/proc";
import { type Bench, FIXTURES } from "./lib/setup";
import { int, ms, ratio, type Section, type Target, table } from "./lib/stats";
import { createJob } from "./warm";

const SERVE = path.join(FIXTURES, "serve-child.mjs");
const CONNECTIONS = [1, 10, 50];

export interface HttpResult {
  section: Section;
  memory: { label: string; idle: number; peak: number }[];
}

export async function httpThroughput(bench: Bench): Promise<HttpResult> {
  const { quick } = bench.options;
  const duration = quick ? 2 : 5;
  const dir = path.join(bench.work, "http");
  const apiBundle = await bundleApiServer(path.join(dir, "api-server"));
  const helloBundle = await bundleSource(HELLO_SERVER, "hello-server", "listen", dir);
  const jobId = await createJob(bench, "http", 10);

  const start = async (file: string) => {
    const port = await freePort();
    const child = await startChild([SERVE, pathToFileURL(file).href, String(port)], {
      cwd: path.dirname(file),
      env: bench.childEnv(),
    });
    return { child, base: `http://127.0.0.1:${port}`, idle: (await memoryOf(child.pid!)).rss };
  };
  const servers: { child: ChildProcess }[] = [];
  try {
    const api = await start(apiBundle.file);
    servers.push(api);
    const hello = await start(helloBundle.file);
    servers.push(hello);

    const targets: { label: string; url: string; headers: Record<string, string> }[] = [
      { label: "hello-world Hono route (floor)", url: `${hello.base}/hello`, headers: {} },
      {
        label: "GET /api/v1/jobs/{id}",
        url: `${api.base}/api/v1/jobs/${jobId}`,
        headers: { authorization: `Bearer ${bench.token}` },
      },
      {
        label: "GET /runs?job_id= (epx, 10 runs)",
        url: `${api.base}/runs?job_id=${jobId}`,
        headers: { "offline-token": `Bearer ${bench.token}` },
      },
    ];
    for (const t of targets) {
      await autocannon({ url: t.url, headers: t.headers, connections: 10, duration: 1 });
    }

    const rows: (string | number)[][] = [];
    let failures = 0;
    const perConnection: Record<number, number[]> = {};
    for (const connections of CONNECTIONS) {
      const rates: number[] = [];
      for (const t of targets) {
        const r = await autocannon({ url: t.url, headers: t.headers, connections, duration });
        const bad = r.non2xx + r.errors + r.timeouts;
        failures += bad;
        rates.push(r.requests.average);
        rows.push([
          t.label,
          connections,
          int(r.requests.average),
          `${ms(r.latency.p50)} / ${ms(r.latency.p99)}`,
          int(r.requests.total),
          bad,
          rates.length === 1 ? "1.00×" : ratio(rates[0]! / r.requests.average),
        ]);
      }
      perConnection[connections] = rates;
    }
    const apiMemory = await memoryOf(api.child.pid!);
    const helloMemory = await memoryOf(hello.child.pid!);

    const targetsMet: Target[] = [
      {
        figure: "3",
        name: "HTTP load: non-2xx responses, errors and timeouts",
        measured: String(failures),
        goal: "0",
        met: failures === 0,
      },
    ];
    const at50 = perConnection[50] ?? [];
    const markdown = [
      `autocannon in the bench process, ${duration} s per cell after a 1 s warm-up per route, loopback. The API server is \`listen\` from packages/functions/src/local.ts (what \`pnpm start\` serves), bundled like the Lambda and run by plain \`node\` with LOG_LEVEL=silent and a pool of 10 connections; the floor is a hello-world Hono app on @hono/node-server, started the same way. Load generator, both servers and Postgres share the machine's cores. "floor ÷ route" is how many times more requests per second the hello-world route serves at the same concurrency.`,
      "",
      table(
        [
          "route",
          "connections",
          "req/s",
          "latency p50 / p99 (ms)",
          "requests",
          "non-2xx + errors",
          "floor ÷ route",
        ],
        rows,
      ),
      "",
      `At 50 connections the API serves ${int(at50[1] ?? 0)} req/s for a job and ${int(at50[2] ?? 0)} req/s for the epx run list, against ${int(at50[0] ?? 0)} req/s for hello-world.`,
    ].join("\n");
    return {
      section: { title: "3. HTTP throughput", markdown, targets: targetsMet, findings: [] },
      memory: [
        { label: "API local server (under the load above)", idle: api.idle, peak: apiMemory.peak },
        {
          label: "hello-world server (under the load above)",
          idle: hello.idle,
          peak: helloMemory.peak,
        },
      ],
    };
  } finally {
    for (const s of servers) await stopChild(s.child);
  }
}
