import { compress } from "hono/compress";

/**
 * gzip/deflate for the routes that return long lists, when the client accepts it. Lambda
 * returns at most 6 MB: the epx client's unpaged run list of a 100,000-run job is ~40 MB
 * as JSON and ~0.3 MB gzipped. (Compressed bodies leave Lambda base64-encoded; the REST
 * API's binaryMediaTypes in infra/api.ts turns them back into bytes.)
 */
export const compressed = compress({ threshold: 8 * 1024 });
