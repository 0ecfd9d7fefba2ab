import { z } from "zod";
import { InvalidError } from "../error";

/**
 * A function whose input is validated by a zod schema at the boundary. The schema stays
 * on the function (`.schema`) so the HTTP layer can reuse it for its OpenAPI document.
 */
export function fn<S extends z.ZodType, R>(schema: S, cb: (input: z.output<S>) => Promise<R>) {
  const wrapped = async (input: z.input<S>): Promise<R> => {
    const parsed = schema.safeParse(input);
    if (!parsed.success) throw invalid(parsed.error);
    return cb(parsed.data);
  };
  wrapped.schema = schema;
  return wrapped;
}

export function invalid(error: z.ZodError): InvalidError {
  return new InvalidError("The request is invalid.", issues(error));
}

export function issues(error: z.ZodError) {
  return flatten(error.issues, []).map((i) => ({
    path: i.path.join("."),
    message: i.message,
    code: i.code,
  }));
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

/** Database ids are bigint identities; the API shows them as positive safe integers. */
export const Id = z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER);

/** Text that Postgres can store (no NUL characters), bounded in length. */
export const Text = (max: number) =>
  z
    .string()
    .max(max)
    .refine((s) => !s.includes("\u0000"), "Text may not contain NUL characters.");
