import { randomBytes } from "node:crypto";
import { User } from "@fred/core/user";
import { app } from "../src/api/app";

export const ADMIN = () => process.env.ADMIN_TOKEN!;

export interface Call {
  token?: string;
  /** Send the token the way the epx client does. */
  offline?: boolean;
  body?: unknown;
  /** A raw body, sent as is. */
  raw?: string | Uint8Array;
  headers?: Record<string, string>;
}

export async function call(method: string, path: string, options: Call = {}) {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) {
    headers[options.offline ? "Offline-Token" : "Authorization"] = `Bearer ${options.token}`;
  }
  let body: string | Uint8Array | undefined = options.raw;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers["content-type"] ??= "application/json";
  }
  const res = await app.request(path, { method, headers, body });
  const text = await res.text();
  // biome-ignore lint/suspicious/noExplicitAny: responses are arbitrary JSON, checked by each test
  let json: any;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, json, text };
}

export async function makeUser(name = "Ada") {
  const { user, token } = await User.provision({
    name,
    email: `${name.toLowerCase()}-${randomBytes(4).toString("hex")}@example.org`,
  });
  return { user, token: token.token, tokenId: token.info.id };
}

export { runRequest } from "../../core/test/fixtures";

/** The epx client's headers. */
export function epxHeaders() {
  return {
    "content-type": "application/json",
    "fredcli-version": "11.0.1",
    "user-agent": "epx_client_1.2.2",
  };
}
