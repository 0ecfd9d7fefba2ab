/**
 * In-process CPU profile (node:inspector) of a loop, with self time summed by package
 * (or by our own source file), to say where the time of a request goes.
 */
import { Session } from "node:inspector/promises";
import net from "node:net";
import { fileURLToPath } from "node:url";
import { summarize } from "./stats";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}

function bucket(node: ProfileNode): string {
  const { url, functionName } = node.callFrame;
  if (!url) {
    if (functionName === "writeBuffer" || functionName === "writev")
      return "(socket write syscalls)";
    return functionName ? `(${functionName.replace(/^\(|\)$/g, "")})` : "(native)";
  }
  if (url.startsWith("node:")) {
    if (url.includes("undici")) return "node: undici (Request, Response, Headers)";
    if (url.includes("webstreams")) return "node: web streams (bodies)";
    if (url.includes("async_hooks")) return "node: async_hooks (AsyncLocalStorage)";
    if (url.includes("stream") || url.startsWith("node:net")) return "node: net and streams";
    return "node: other internals";
  }
  const file = url.startsWith("file://") ? fileURLToPath(url) : url;
  const i = file.lastIndexOf("node_modules/");
  if (i >= 0) {
    const parts = file.slice(i + "node_modules/".length).split("/");
    return parts[0]!.startsWith("@") ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  if (file.includes("/bench/")) return "bench harness (building events)";
  const app = file.match(/packages\/.+$/);
  return app ? app[0] : file;
}

/** Runs `work` under the profiler; returns sampled CPU milliseconds per bucket (no idle). */
export async function profile(work: () => Promise<void>): Promise<Map<string, number>> {
  const session = new Session();
  session.connect();
  try {
    await session.post("Profiler.enable");
    await session.post("Profiler.setSamplingInterval", { interval: 100 });
    await session.post("Profiler.start");
    await work();
    const { profile } = (await session.post("Profiler.stop")) as unknown as {
      profile: { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };
    };
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    const parent = new Map<number, number>();
    for (const n of profile.nodes) for (const child of n.children ?? []) parent.set(child, n.id);
    const inspector = new Map<number, boolean>();
    const underInspector = (id: number): boolean => {
      let known = inspector.get(id);
      if (known === undefined) {
        const up = parent.get(id);
        known =
          (byId.get(id)?.callFrame.url.startsWith("node:inspector") ?? false) ||
          (up !== undefined && underInspector(up));
        inspector.set(id, known);
      }
      return known;
    };
    const totals = new Map<string, number>();
    profile.samples.forEach((id, i) => {
      const node = byId.get(id);
      const dt = (profile.timeDeltas[i] ?? 0) / 1000;
      // Idle time, and the inspector's own message dispatch (it runs in this process; on
      // Node 22 it shows as node:inspector's `post`, stopping the profile included).
      const { functionName, url } = node?.callFrame ?? { functionName: "", url: "" };
      if (!node || functionName === "(idle)" || (functionName === "dispatch" && !url)) return;
      if (underInspector(node.id)) return;
      const key = bucket(node);
      totals.set(key, (totals.get(key) ?? 0) + dt);
    });
    return new Map([...totals].sort((a, b) => b[1] - a[1]));
  } finally {
    await session.post("Profiler.disable").catch(() => {});
    session.disconnect();
  }
}

/** Socket writes during `work`: how many, how many bytes, and the time spent in write(). */
export async function socketWrites(work: () => Promise<void>) {
  const original = net.Socket.prototype.write;
  const totals = { calls: 0, bytes: 0, ms: 0 };
  net.Socket.prototype.write = function (this: net.Socket, ...args: unknown[]) {
    const chunk = args[0] as { length?: number };
    totals.calls++;
    totals.bytes += chunk?.length ?? 0;
    const start = performance.now();
    try {
      return (original as (...a: unknown[]) => boolean).apply(this, args);
    } finally {
      totals.ms += performance.now() - start;
    }
  } as typeof original;
  try {
    await work();
  } finally {
    net.Socket.prototype.write = original;
  }
  return totals;
}

/** Medians, per call, of where a call's wall time goes around its database round trips. */
export interface Segments {
  /** From the call to its first socket write: our work before the first statement leaves. */
  before: number;
  /** From each reply to the write that follows it, summed: our work between statements. */
  between: number;
  /** From the last reply to the call's end: our work on the answer. */
  after: number;
  /** The rest: from each write to its reply, the database's time and the wake-ups. */
  waiting: number;
  total: number;
  calls: number;
}

/**
 * Times `calls` of each of `works`, in turn, marking every socket write and every socket
 * `data` event: what a call spends before, between and after its round trips (our code, no
 * profiler in the way), and what it spends waiting for them. Calls whose marks do not
 * begin with a write and end with a reply (none, normally) are left out.
 */
export async function segments(
  works: (() => Promise<unknown>)[],
  calls: number,
): Promise<Segments[]> {
  type Mark = { write: boolean; at: number };
  let marks: Mark[] = [];
  const write = net.Socket.prototype.write;
  const emit = net.Socket.prototype.emit;
  net.Socket.prototype.write = function (this: net.Socket, ...args: unknown[]) {
    marks.push({ write: true, at: performance.now() });
    return (write as (...a: unknown[]) => boolean).apply(this, args);
  } as typeof write;
  net.Socket.prototype.emit = function (this: net.Socket, ...args: unknown[]) {
    if (args[0] === "data") marks.push({ write: false, at: performance.now() });
    return (emit as (...a: unknown[]) => boolean).apply(this, args);
  } as typeof emit;
  const samples = works.map(() => [] as Omit<Segments, "calls">[]);
  try {
    for (let i = 0; i < calls; i++) {
      for (const [w, work] of works.entries()) {
        marks = [];
        const start = performance.now();
        await work();
        const end = performance.now();
        if (!marks.length || !marks[0]!.write || marks.at(-1)!.write) continue;
        let between = 0;
        for (let m = 1; m < marks.length; m++) {
          if (marks[m]!.write && !marks[m - 1]!.write) between += marks[m]!.at - marks[m - 1]!.at;
        }
        const before = marks[0]!.at - start;
        const after = end - marks.at(-1)!.at;
        const total = end - start;
        samples[w]!.push({
          before,
          between,
          after,
          waiting: total - before - between - after,
          total,
        });
      }
    }
  } finally {
    net.Socket.prototype.write = write;
    net.Socket.prototype.emit = emit;
  }
  const median = (xs: number[]) => summarize(xs).median;
  return samples.map((list) => ({
    before: median(list.map((s) => s.before)),
    between: median(list.map((s) => s.between)),
    after: median(list.map((s) => s.after)),
    waiting: median(list.map((s) => s.waiting)),
    total: median(list.map((s) => s.total)),
    calls: list.length,
  }));
}
