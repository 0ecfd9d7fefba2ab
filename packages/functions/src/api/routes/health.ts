import { sql } from "@fred/core/drizzle";
import { lazy } from "@fred/core/util";
import * as z from "zod";
import pkg from "../../../package.json" with { type: "json" };
import { json, router } from "../router";

const Health = lazy(() =>
  z
    .object({
      status: z.enum(["healthy", "unhealthy"]),
      service: z.string(),
      version: z.string(),
      timestamp: z.iso.datetime(),
      checks: z.object({ database: z.enum(["ok", "error", "timeout"]) }),
    })
    .meta({ id: "Health" }),
);

const TIMEOUT_MS = Number(process.env.HEALTH_DB_TIMEOUT_MS ?? 1500);

/** `select 1`, abandoned after a short timeout so a dead database never hangs the check. */
async function database(): Promise<"ok" | "error" | "timeout"> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), TIMEOUT_MS);
  });
  try {
    return await Promise.race([
      sql()`select 1`.then(
        () => "ok" as const,
        () => "error" as const,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export const health = router().openapi(
  {
    method: "get",
    path: "/health",
    tags: ["Health"],
    summary: "Service and database health (no auth)",
    responses: () => ({
      200: json(Health(), "Healthy"),
      503: json(Health(), "The database check failed or took over 1.5 s"),
    }),
  },
  async (c) => {
    const db = await database();
    const body = {
      status: db === "ok" ? ("healthy" as const) : ("unhealthy" as const),
      service: "fred-platform",
      version: pkg.version,
      timestamp: new Date().toISOString(),
      checks: { database: db },
    };
    c.header("cache-control", "no-store");
    if (db !== "ok") c.header("Retry-After", "5");
    return db === "ok" ? c.json(body, 200) : c.json(body, 503);
  },
);
