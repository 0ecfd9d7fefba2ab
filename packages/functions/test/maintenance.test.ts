/** The hourly housekeeping Lambda forgets expired Idempotency-Keys and keeps live ones. */
import { sql } from "@fred/core/drizzle";
import { expect, it } from "vitest";
import { handler } from "../src/maintenance";
import { call, makeUser } from "./helpers";

it("purges expired Idempotency-Keys, and only those", async () => {
  const { token } = await makeUser();
  const post = (key: string) =>
    call("POST", "/api/v1/jobs", { token, body: {}, headers: { "idempotency-key": key } });
  expect((await post("live-key")).status).toBe(201);
  expect((await post("old-key")).status).toBe(201);
  await sql()`update idempotency_key set time_expires = now() - interval '1 minute' where key = 'old-key'`;

  expect(await handler()).toEqual({ idempotencyKeysPurged: 1 });
  const keys = await sql()`select key from idempotency_key order by key`;
  expect(keys.map((k) => k.key)).toEqual(["live-key"]);
  expect(await handler()).toEqual({ idempotencyKeysPurged: 0 });
});
