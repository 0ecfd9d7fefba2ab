import type { Context } from "hono";

/** `user-agent: epx_client_1.2.2` → "1.2.2"; anything else → undefined. */
export function epxClientVersion(c: Context): string | undefined {
  return c.req.header("user-agent")?.match(/^epx_client_([\w.+-]{1,64})/)?.[1];
}
