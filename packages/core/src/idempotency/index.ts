import { createHash } from "node:crypto";
import { and, eq, lte, sql } from "drizzle-orm";
import * as z from "zod";
import { createTransaction, type Transaction, useTransaction } from "../drizzle";
import { ConflictError, IdempotencyMismatchError } from "../error";
import { Id, invalid, lazy } from "../util";
import { idempotencyTable } from "./idempotency.sql";

/**
 * Idempotency keys: a client that retries a write with the same `Idempotency-Key` gets the
 * first response back instead of a second write.
 *
 * The key is claimed by an INSERT in the same transaction as the request's writes, and the
 * response is stored in that transaction before it commits. So:
 * - a key row exists exactly when the writes it stands for do (a failure rolls both back,
 *   and the key can be used again);
 * - a concurrent request with the same key blocks on the key's unique index until the
 *   first commits, then replays its response (or, if the first rolled back, runs itself);
 * - the same key with a different request is refused (422), whatever the first's outcome.
 * Keys are scoped per user and live for `TTL_HOURS`; an expired key is claimed afresh.
 */
export namespace Idempotency {
  export const TTL_HOURS = 24;

  /** What a client may send: 1..255 visible ASCII characters (a UUID is typical). */
  export const Key = lazy(() =>
    z
      .string()
      .regex(/^[\x21-\x7e]{1,255}$/, "Idempotency-Key must be 1 to 255 visible ASCII characters."),
  );

  export interface Response {
    status: number;
    body: string;
    contentType: string | null;
  }

  export interface Outcome extends Response {
    /** True when this is the stored response of an earlier request. */
    replayed: boolean;
  }

  /** SHA-256 over the parts that make two requests "the same" (method, path, body…). */
  export function fingerprint(...parts: string[]): string {
    const hash = createHash("sha256");
    for (const part of parts) hash.update(`${part.length}:`).update(part);
    return hash.digest("hex");
  }

  const Claim = lazy(() =>
    z.strictObject({
      userId: Id,
      key: Key(),
      fingerprint: z.string().regex(/^[0-9a-f]{64}$/),
    }),
  );
  export type Claim = z.input<ReturnType<typeof Claim>>;

  /**
   * Runs `work` once per (user, key). `work` produces the response; only a 2xx response is
   * remembered (and its writes committed with it). Any other response, or a throw, rolls
   * everything back, so the client may retry with the same key.
   */
  export async function once(claim: Claim, work: () => Promise<Response>): Promise<Outcome> {
    const parsed = Claim().safeParse(claim);
    if (!parsed.success) throw invalid(parsed.error);
    const input = parsed.data;
    try {
      return await createTransaction(async (tx) => {
        const [claimed] = await tx
          .insert(idempotencyTable)
          .values({
            userId: input.userId,
            key: input.key,
            fingerprint: input.fingerprint,
            timeExpires: sql`now() + make_interval(hours => ${TTL_HOURS})`,
          })
          .onConflictDoUpdate({
            target: [idempotencyTable.userId, idempotencyTable.key],
            set: {
              fingerprint: input.fingerprint,
              status: null,
              body: null,
              contentType: null,
              timeCreated: sql`now()`,
              timeExpires: sql`excluded.time_expires`,
            },
            setWhere: lte(idempotencyTable.timeExpires, sql`now()`),
          })
          .returning({ key: idempotencyTable.key });
        if (!claimed) return { ...(await stored(tx, input)), replayed: true };

        const response = await work();
        if (response.status < 200 || response.status > 299) throw new Discard(response);
        await tx
          .update(idempotencyTable)
          .set({ status: response.status, body: response.body, contentType: response.contentType })
          .where(
            and(eq(idempotencyTable.userId, input.userId), eq(idempotencyTable.key, input.key)),
          );
        return { ...response, replayed: false };
      });
    } catch (error) {
      if (error instanceof Discard) return { ...error.response, replayed: false };
      throw error;
    }
  }

  /** The response stored under a live key, if the request matches the one that set it. */
  async function stored(
    tx: Transaction,
    input: z.output<ReturnType<typeof Claim>>,
  ): Promise<Response> {
    const [row] = await tx
      .select()
      .from(idempotencyTable)
      .where(and(eq(idempotencyTable.userId, input.userId), eq(idempotencyTable.key, input.key)));
    if (!row) throw new ConflictError("This Idempotency-Key is in use; retry shortly.");
    if (row.fingerprint !== input.fingerprint) throw new IdempotencyMismatchError();
    if (row.status === null || row.body === null) {
      throw new ConflictError("A request with this Idempotency-Key is still in progress.");
    }
    return { status: row.status, body: row.body, contentType: row.contentType };
  }

  /** Deletes expired keys (they are also overwritten when reused); returns how many. */
  export async function purge(): Promise<number> {
    return useTransaction(async (tx) => {
      const rows = await tx
        .delete(idempotencyTable)
        .where(lte(idempotencyTable.timeExpires, sql`now()`))
        .returning({ key: idempotencyTable.key });
      return rows.length;
    });
  }

  /** A non-2xx response: roll the transaction back, then hand the response on. */
  class Discard {
    constructor(readonly response: Response) {}
  }
}
