import { randomBytes } from "node:crypto";
import postgres from "postgres";
import { withDatabase } from "./global-setup";

/** A fresh database cloned from the migrated template; returns its URL. */
export async function createTestDatabase(adminUrl: string, template: string): Promise<string> {
  const name = `t_${randomBytes(6).toString("hex")}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    // Two clones of one template at the same instant can collide; retry briefly.
    for (let attempt = 0; ; attempt++) {
      try {
        await admin.unsafe(`CREATE DATABASE ${name} TEMPLATE ${template}`);
        break;
      } catch (error) {
        if (attempt >= 20) throw error;
        await new Promise((r) => setTimeout(r, 50 + Math.random() * 100));
      }
    }
  } finally {
    await admin.end();
  }
  return withDatabase(adminUrl, name);
}
