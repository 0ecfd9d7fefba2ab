import type { Context } from "hono";

/**
 * Sets a header on the response that `c` ends with, once the route has run. On its headers
 * directly: `c.header()` at that point rebuilds the response (hono does, in case its
 * headers are immutable, as those of `fetch()` or `Response.redirect()` are). Should they
 * be, it is rebuilt after all.
 */
export function setOnResponse(c: Context, name: string, value: string, append = false) {
  try {
    if (append) c.res.headers.append(name, value);
    else c.res.headers.set(name, value);
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    c.header(name, value, { append });
  }
}
