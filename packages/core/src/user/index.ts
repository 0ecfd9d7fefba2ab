import { hash as digestOf, randomBytes, timingSafeEqual } from "node:crypto";
import { and, eq, sql } from "drizzle-orm";
import * as z from "zod";
import { createTransaction, db, pgCode, prepared, useTransaction } from "../drizzle";
import { ConflictError, NotFoundError, UnauthorizedError } from "../error";
import { fn, Id, lazy, Text } from "../util";
import { apiTokenTable, userTable } from "./user.sql";

/**
 * API tokens: `epx_` + 43 base64url characters (256 random bits). Only a SHA-256 of the
 * token is stored; the secret is shown once, when issued.
 */
export namespace Token {
  export const PREFIX = "epx_";
  const SHOWN = 12; // characters of the token kept as its visible prefix

  export type Info = Omit<typeof apiTokenTable.$inferSelect, "tokenHash">;

  export const IssueInput = lazy(() =>
    z.strictObject({
      userId: Id,
      label: Text(200).trim().optional(),
      /** Days until the token expires; omitted means it does not expire. */
      ttlDays: z.number().int().positive().max(3650).optional(),
    }),
  );

  const byHash = prepared((on) =>
    on
      .select({ token: apiTokenTable, user: userTable })
      .from(apiTokenTable)
      .innerJoin(userTable, eq(userTable.id, apiTokenTable.userId))
      .where(eq(apiTokenTable.tokenHash, sql.placeholder("hash")))
      .prepare("token_by_hash"),
  );

  export function generate(): string {
    return PREFIX + randomBytes(32).toString("base64url");
  }

  export function hash(token: string): string {
    return digestOf("sha256", token, "hex"); // one-shot: a third of createHash()'s time
  }

  export const issue = fn(IssueInput, (input) =>
    useTransaction(async (tx) => {
      const token = generate();
      const [row] = await tx
        .insert(apiTokenTable)
        .values({
          userId: input.userId,
          tokenHash: hash(token),
          prefix: token.slice(0, SHOWN),
          label: input.label ?? null,
          timeExpires: input.ttlDays ? new Date(Date.now() + input.ttlDays * 86_400_000) : null,
        })
        .returning()
        .catch((error: unknown) => {
          if (pgCode(error) === "23503") throw new NotFoundError("User", input.userId);
          throw error;
        });
      return { token, info: toInfo(row!) };
    }),
  );

  /**
   * Who a presented token belongs to. Revoked, expired and unknown tokens all fail the
   * same way, so a caller learns nothing about which it was.
   */
  export async function verify(token: string): Promise<{ user: User.Info; token: Info }> {
    if (!token.startsWith(PREFIX) || token.length > 200) throw new UnauthorizedError();
    const digest = hash(token);
    const [row] = await byHash({ hash: digest });
    const now = Date.now();
    if (
      !row ||
      !sameHash(row.token.tokenHash, digest) ||
      row.token.timeRevoked ||
      (row.token.timeExpires && row.token.timeExpires.getTime() <= now)
    ) {
      throw new UnauthorizedError();
    }
    // Recording use is best effort and at most once a minute per token. Not awaited, and on
    // the pool rather than any transaction of the caller's: it goes out ahead of the
    // request's own statements and adds no round trip. The token handed back says so,
    // so that a token's first request does not show it as never used.
    const info = toInfo(row.token);
    if (!info.timeLastUsed || now - info.timeLastUsed.getTime() > 60_000) {
      info.timeLastUsed = new Date(now);
      db()
        .update(apiTokenTable)
        .set({ timeLastUsed: info.timeLastUsed })
        .where(eq(apiTokenTable.id, row.token.id))
        .catch(() => {});
    }
    return { user: row.user, token: info };
  }

  export const revoke = fn(
    () => z.strictObject({ userId: Id, tokenId: Id }),
    (input) =>
      useTransaction(async (tx) => {
        // Revoking a revoked token changes nothing and answers as the first time did (a
        // retried DELETE is not a 404 for a token the list still shows).
        const [row] = await tx
          .update(apiTokenTable)
          .set({ timeRevoked: sql`coalesce(${apiTokenTable.timeRevoked}, now())` })
          .where(and(eq(apiTokenTable.id, input.tokenId), eq(apiTokenTable.userId, input.userId)))
          .returning();
        if (!row) throw new NotFoundError("Token", input.tokenId);
        return toInfo(row);
      }),
  );

  export const list = fn(
    () => Id,
    (userId) =>
      useTransaction(async (tx) => {
        const rows = await tx
          .select()
          .from(apiTokenTable)
          .where(eq(apiTokenTable.userId, userId))
          .orderBy(apiTokenTable.id);
        return rows.map(toInfo);
      }),
  );

  /** Constant-time comparison of two hex digests. */
  export function sameHash(a: string, b: string): boolean {
    const x = Buffer.from(a, "hex");
    const y = Buffer.from(b, "hex");
    return x.length === y.length && timingSafeEqual(x, y);
  }

  function toInfo(row: typeof apiTokenTable.$inferSelect): Info {
    const { tokenHash: _hash, ...info } = row;
    return info;
  }
}

export namespace User {
  export type Info = typeof userTable.$inferSelect;

  export const CreateInput = lazy(() =>
    z.strictObject({
      name: Text(200).trim().min(1),
      email: z.email().max(320).optional(),
    }),
  );

  export const create = fn(CreateInput, (input) =>
    useTransaction(async (tx) => {
      const [row] = await tx
        .insert(userTable)
        .values({ name: input.name, email: input.email ?? null })
        .onConflictDoNothing({ target: userTable.email })
        .returning();
      if (!row) throw new ConflictError(`A user with email ${input.email} already exists.`);
      return row satisfies Info;
    }),
  );

  export const get = fn(
    () => Id,
    (id) =>
      useTransaction(async (tx) => {
        const [row] = await tx.select().from(userTable).where(eq(userTable.id, id));
        if (!row) throw new NotFoundError("User", id);
        return row satisfies Info;
      }),
  );

  export const ProvisionInput = lazy(() =>
    CreateInput().extend({
      label: Token.IssueInput().shape.label,
      ttlDays: Token.IssueInput().shape.ttlDays,
    }),
  );

  /** Creates a user and its first token in one transaction. */
  export const provision = fn(ProvisionInput, ({ label, ttlDays, ...input }) =>
    createTransaction(async () => {
      const user = await create(input);
      const token = await Token.issue({ userId: user.id, label, ttlDays });
      return { user, token };
    }),
  );
}
