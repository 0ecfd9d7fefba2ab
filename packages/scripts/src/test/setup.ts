/** Before each test file: its own database, the shared S3 server, known secrets. */
import { afterAll, inject } from "vitest";
import { createTestDatabase } from "./database";

process.env.DATABASE_URL = await createTestDatabase(
  inject("adminDatabaseUrl"),
  inject("templateDatabase"),
);
process.env.S3_ENDPOINT = inject("s3Endpoint");
process.env.S3_BUCKET = inject("s3Bucket");
process.env.AWS_ACCESS_KEY_ID = "S3RVER";
process.env.AWS_SECRET_ACCESS_KEY = "S3RVER";
process.env.ADMIN_TOKEN = "test-admin-token-0123456789abcdef";
process.env.ALLOWED_ORIGINS = "https://app.example.org";
process.env.LOG_LEVEL ??= "silent";

afterAll(async () => {
  const { closeDb } = await import("@fred/core/drizzle");
  await closeDb();
});
