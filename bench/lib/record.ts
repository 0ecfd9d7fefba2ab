/**
 * The floor of a request: the very SQL the app sent for it, replayed with postgres.js.
 *
 * `record` watches the app's own postgres.js client (core's `sql()`, the client drizzle
 * runs on) for one call: every query it executes — tagged templates (`sql\`select 1\``),
 * `unsafe` calls from drizzle, and the BEGIN/COMMIT of transactions — with its parameters,
 * whether it was read in array mode, and when it started and finished. Queries whose
 * lifetimes overlap were issued concurrently (`Promise.all`) and are replayed so.
 * `replay` issues exactly those queries on the same client, with no drizzle, no zod and
 * no Hono: what is left of a request when everything of ours is taken away.
 *
 * It needs a pool of one connection (as in Lambda), so that replayed BEGIN … COMMIT land on
 * one connection in order, as the transaction's statements did.
 */
import type { sql } from "../../packages/core/src/drizzle/index";

type Sql = ReturnType<typeof sql>;

/** The fields of a postgres.js Query this needs (src/query.js). */
interface QueryLike extends Promise<unknown> {
  tagged: boolean;
  strings: string[];
  args: unknown[];
  options: { simple?: boolean };
  isRaw?: boolean | "values";
  executed: boolean;
  handle(): Promise<void>;
}

interface Statement {
  tagged: boolean;
  strings: string[];
  args: unknown[];
  simple: boolean;
  values: boolean;
  start: number;
  end: number;
}

/** Statements in order, grouped by overlap (a group ran concurrently). */
export type Plan = Statement[][];

export async function record(client: Sql, work: () => Promise<unknown>): Promise<Plan> {
  // Any query object leads to the shared prototype; this one is never executed.
  const probe = client.unsafe("select 1") as unknown as QueryLike;
  const proto = Object.getPrototypeOf(probe) as QueryLike;
  const handle = proto.handle;
  const log: Statement[] = [];
  proto.handle = function (this: QueryLike) {
    if (!this.executed) {
      const statement: Statement = {
        tagged: this.tagged,
        strings: this.strings,
        args: this.args,
        simple: Boolean(this.options.simple),
        values: this.isRaw === "values",
        start: performance.now(),
        end: Number.POSITIVE_INFINITY,
      };
      log.push(statement);
      const done = () => {
        statement.end = performance.now();
      };
      Promise.prototype.then.call(this, done, done);
    }
    return handle.call(this);
  };
  try {
    await work();
  } finally {
    proto.handle = handle;
  }
  const plan: Plan = [];
  for (const statement of log) {
    const group = plan.at(-1);
    if (group?.some((s) => statement.start < s.end)) group.push(statement);
    else plan.push([statement]);
  }
  return plan;
}

type Issue = (strings: unknown, ...args: unknown[]) => QueryLike;
type Unsafe = (query: string, args: unknown[], options: object) => QueryLike;

/** Issues a recorded plan on `client`: the same statements, parameters and concurrency. */
export async function replay(client: Sql, plan: Plan): Promise<void> {
  const tagged = client as unknown as Issue;
  const unsafe = client.unsafe as unknown as Unsafe;
  for (const group of plan) {
    await Promise.all(
      group.map((s) => {
        const q = s.tagged
          ? tagged(s.strings, ...s.args)
          : unsafe(s.strings[0]!, s.args, { prepare: false, simple: s.simple });
        return s.values ? (q as unknown as { values(): QueryLike }).values() : q;
      }),
    );
  }
}

/** Pairs of statements in a plan that are identical, text and parameters (1-based). */
export function repeats(plan: Plan): [number, number][] {
  const flat = plan.flat();
  const key = (s: Statement) => JSON.stringify([s.strings, s.args]);
  const pairs: [number, number][] = [];
  flat.forEach((s, i) => {
    const first = flat.findIndex((t) => key(t) === key(s));
    if (first < i && !/^\s*(begin|commit)/i.test(s.strings.join("")))
      pairs.push([first + 1, i + 1]);
  });
  return pairs;
}

export function describePlan(plan: Plan): string {
  const words = (s: Statement) => {
    const text = s.strings.join("$").replace(/\s+/g, " ").trim().toLowerCase();
    const [first = "", second = ""] = text.split(" ");
    return first === "select" || first === "with" ? first : `${first} ${second}`.trim();
  };
  const groups = plan.map((g) => (g.length > 1 ? `(${g.map(words).join(" ‖ ")})` : words(g[0]!)));
  const statements = plan.flat().length;
  const dup = repeats(plan)
    .map(([a, b]) => `statement ${b} repeats statement ${a}`)
    .join(", ");
  return `${statements} statement${statements === 1 ? "" : "s"}: ${groups.join(" → ")}${dup ? ` (${dup})` : ""}`;
}
