import * as z from "zod";
import { InvalidError } from "../error";

// zod compiles a parser per object schema (`new Function`) on its first synchronous parse:
// ~0.5-1.5 ms once per schema and process, then each object parses faster. Measured here:
// a 1000-run batch validates in 2.7 ms instead of 5 ms, one run in 4 µs instead of 5. A
// process serves many requests, so it is on (zod's default). Every parse of ours is
// synchronous (an async parse never uses the compiled parser).

/**
 * A function whose input is validated by a zod schema at the boundary. The schema is built
 * on the first call (see `lazy`).
 */
export function fn<S extends z.ZodType, R>(
  schema: () => S,
  cb: (input: z.output<S>) => Promise<R>,
) {
  const built = lazy(schema);
  const wrapped = async (input: z.input<S>): Promise<R> => {
    const parsed = built().safeParse(input);
    if (!parsed.success) throw invalid(parsed.error);
    return cb(parsed.data);
  };
  /** For callers whose input this same schema already parsed (an HTTP route): no re-parse. */
  wrapped.trusted = (input: z.output<S>): Promise<R> => cb(input);
  return wrapped;
}

/**
 * Text that is already JSON, kept as text: a json column read with `::text` (Postgres
 * checked it when it was stored) goes into a response as is, instead of being parsed into
 * objects and stringified again. `T` is what the text holds.
 */
export class JsonText<T> {
  declare readonly parsed?: T;
  constructor(readonly text: string) {}
}

/**
 * A value built on first use, then kept. For zod schemas: building them is most of what a
 * cold start spends in our code, and a process serves few of the routes that need them.
 */
export function lazy<T>(build: () => T): () => T {
  let value: { v: T } | undefined;
  return () => {
    value ??= { v: build() };
    return value.v;
  };
}

export function invalid(error: z.ZodError): InvalidError {
  return new InvalidError("The request is invalid.", issues(error));
}

export function issues(error: z.ZodError) {
  const seen = new Set<string>();
  return (
    flatten(error.issues, [])
      .map((i) => ({ path: i.path.join("."), message: i.message, code: i.code }))
      // One bound per value: `Id`'s int() and max() both refuse 1e20, the same way.
      .filter((i) => {
        if (i.code !== "too_big" && i.code !== "too_small") return true;
        const key = `${i.code} ${i.path}`;
        if (seen.has(key)) return false;
        seen.add(key);
        return true;
      })
  );
}

type Issue = z.core.$ZodIssue;

/**
 * When no branch of a union matched, report the branch that came closest (fewest
 * issues), so "runs.1.fredVersion: expected string" beats "no union member matched".
 */
function flatten(
  list: readonly Issue[],
  prefix: PropertyKey[],
): { path: PropertyKey[]; message: string; code: string }[] {
  return list.flatMap((issue) => {
    const path = [...prefix, ...issue.path];
    if (issue.code === "invalid_union" && issue.errors.length) {
      const closest = [...issue.errors].sort((a, b) => a.length - b.length)[0]!;
      if (closest.length) return flatten(closest, path);
    }
    return [{ path, message: issue.message, code: issue.code }];
  });
}

/**
 * A page from `limit + 1` rows read in keyset order: the first `limit`, and the cursor for
 * the next page (the last id shown) when there was one more row.
 */
export function keysetPage<T extends { id: number }>(rows: T[], limit: number) {
  const items = rows.slice(0, limit);
  const next = rows.length > limit ? items.at(-1)?.id : undefined;
  return { items, nextCursor: next ?? null };
}

/**
 * Database ids are bigint identities; the API shows them as positive safe integers. In a
 * JSON body an id is a JSON number, not coerced: `Number()` makes `true`, `[16]` and
 * `"0x10"` ids 1 and 16.
 */
export const Id = z
  .number({ error: "Expected an id: a positive integer." })
  .int()
  .positive()
  .max(Number.MAX_SAFE_INTEGER);

const DECIMAL = /^(0|[1-9][0-9]*)$/;

/**
 * A number in a path or a query string: its decimal digits and nothing else. Coerced as
 * `Number()` does, `0x10`, `1e3`, ` 16`, `+16` and `016` would all be 16 (or 1000), another
 * id than the one written, or the same one spelled another way. Not for JSON bodies: the
 * pipe costs zod's compiled parser of a 1000-run batch ~1 ms, and JSON has numbers.
 */
export function decimal<T extends z.ZodNumber>(schema: T) {
  return z.preprocess((v) => (typeof v === "string" && DECIMAL.test(v) ? Number(v) : v), schema);
}

/** An id in a path or a query string. */
export const IdParam = decimal(Id);

/** An unpaired UTF-16 surrogate: not Unicode, so Postgres cannot store it. */
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * Whether Postgres can store `s` as text or inside jsonb: no NUL (text refuses it, and
 * jsonb refuses `\u0000`), no unpaired surrogate (jsonb refuses it; text would silently
 * turn it into U+FFFD).
 */
export function storable(s: string): boolean {
  return !s.includes("\u0000") && !LONE_SURROGATE.test(s);
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is exactly what it looks for.
const UNSTORABLE = /[\u0000\p{Cs}]/u;

/**
 * Text that Postgres can store (no NUL, valid Unicode), bounded in length. One check, one
 * pass over the string (a 1000-run batch has ~9,000 of them); which problem it was is
 * worked out only for the error message.
 */
export const Text = (max: number) =>
  z
    .string()
    .max(max)
    .refine((s) => !UNSTORABLE.test(s), {
      error: (issue) =>
        String(issue.input).includes("\u0000")
          ? "Text may not contain NUL characters."
          : "Text must be valid Unicode (no lone surrogates).",
    });

/**
 * Why a parsed JSON value cannot be stored as jsonb and given back as it was sent, or
 * undefined if it can: nested deeper than `maxDepth`; a string or key that is not
 * `storable`; or a number JSON.parse could not keep (1e400 became Infinity, which would be
 * stored as null). Walks iteratively, so no input can overflow the stack (JSON.stringify
 * on 10,000 levels does).
 */
export function jsonProblem(value: unknown, maxDepth: number): string | undefined {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (typeof v === "string") {
      if (!storable(v)) return "may not contain NUL characters or lone surrogates";
    } else if (typeof v === "number") {
      if (!Number.isFinite(v)) return "numbers must be finite";
    } else if (v !== null && typeof v === "object") {
      if (depth >= maxDepth) return `may be nested at most ${maxDepth} levels deep`;
      for (const [k, x] of Object.entries(v)) {
        if (!storable(k)) return "may not contain NUL characters or lone surrogates";
        stack.push([x, depth + 1]);
      }
    }
  }
  return undefined;
}
