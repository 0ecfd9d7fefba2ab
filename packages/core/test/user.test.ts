import { sql } from "@fred/core/drizzle";
import { Token, User } from "@fred/core/user";
import { describe, expect, it } from "vitest";
import { makeUser } from "./fixtures";

describe("users and tokens", () => {
  it("issues a token that verifies to its user, and stores only its hash", async () => {
    const { user, token } = await makeUser();
    expect(token.token).toMatch(/^epx_[A-Za-z0-9_-]{43}$/);
    expect(token.info.prefix).toBe(token.token.slice(0, 12));
    const verified = await Token.verify(token.token);
    expect(verified.user.id).toBe(user.id);
    const rows = await sql()`select * from api_token`;
    const stored = JSON.stringify(rows);
    expect(stored).not.toContain(token.token);
    expect(rows[0]!.token_hash).toBe(Token.hash(token.token));
  });

  it("tokens are unique and carry at least 128 bits of randomness", () => {
    const tokens = new Set(Array.from({ length: 1000 }, () => Token.generate()));
    expect(tokens.size).toBe(1000);
    const secret = Token.generate().slice(Token.PREFIX.length);
    expect(Buffer.from(secret, "base64url").length * 8).toBeGreaterThanOrEqual(128);
  });

  it("refuses unknown, malformed, revoked and expired tokens alike", async () => {
    const { user, token } = await makeUser("Grace");
    await expect(Token.verify("epx_nope")).rejects.toMatchObject({ code: "unauthorized" });
    await expect(Token.verify("Bearer x")).rejects.toMatchObject({ code: "unauthorized" });
    await expect(Token.verify(`${token.token}x`)).rejects.toMatchObject({ code: "unauthorized" });

    const revoked = await Token.revoke({ userId: user.id, tokenId: token.info.id });
    expect(revoked.timeRevoked).toBeInstanceOf(Date);
    await expect(Token.verify(token.token)).rejects.toMatchObject({ code: "unauthorized" });
    // Revoking twice changes nothing: the same token, revoked when it first was.
    await expect(Token.revoke({ userId: user.id, tokenId: token.info.id })).resolves.toEqual(
      revoked,
    );
    await expect(Token.verify(token.token)).rejects.toMatchObject({ code: "unauthorized" });

    const second = await Token.issue({ userId: user.id, label: "short", ttlDays: 1 });
    await expect(Token.verify(second.token)).resolves.toBeTruthy();
    await sql()`update api_token set time_expires = now() - interval '1 second' where id = ${second.info.id}`;
    await expect(Token.verify(second.token)).rejects.toMatchObject({ code: "unauthorized" });
  });

  it("a user cannot revoke another user's token", async () => {
    const a = await makeUser("A");
    const b = await makeUser("B");
    await expect(
      Token.revoke({ userId: b.user.id, tokenId: a.token.info.id }),
    ).rejects.toMatchObject({
      code: "not_found",
    });
    await expect(Token.verify(a.token.token)).resolves.toBeTruthy();
  });

  it("records when a token was last used", async () => {
    const { token } = await makeUser();
    expect(token.info.timeLastUsed).toBeNull();
    await Token.verify(token.token);
    // Best effort, and not awaited by verify: it lands shortly after.
    await expect
      .poll(async () => (await Token.list(token.info.userId))[0]!.timeLastUsed)
      .toBeInstanceOf(Date);
  });

  it("refuses a duplicate email and an invalid user", async () => {
    await User.create({ name: "X", email: "dup@example.org" });
    await expect(User.create({ name: "Y", email: "dup@example.org" })).rejects.toMatchObject({
      code: "conflict",
    });
    await expect(User.create({ name: "" })).rejects.toMatchObject({ code: "invalid" });
    await expect(User.create({ name: "Z", email: "not-an-email" })).rejects.toMatchObject({
      code: "invalid",
    });
    await expect(Token.issue({ userId: 987654 })).rejects.toMatchObject({ code: "not_found" });
  });

  it("shows a token's prefix but never its secret or hash", async () => {
    const { token } = await makeUser();
    const [info] = await Token.list(token.info.userId);
    expect(Object.keys(info!)).not.toContain("tokenHash");
    expect(JSON.stringify(info)).not.toContain(token.token);
  });
});
