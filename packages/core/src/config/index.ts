/**
 * Where the core finds its database, bucket and secrets.
 *
 * Deployed, SST links them (`Resource.Database`, `Resource.Uploads`, `Resource.AdminToken`)
 * and injects them into the function's environment as SST_RESOURCE_*. Locally and in tests
 * plain environment variables win, so one code path serves both.
 */
import { Resource } from "sst";

function linked<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch {
    return undefined; // not running under an SST link
  }
}

export namespace Config {
  export function databaseUrl(): string {
    const url = process.env.DATABASE_URL;
    if (url) return url;
    const db = linked(() => (Resource as unknown as Record<string, DatabaseLink>).Database);
    if (db?.host) {
      const user = encodeURIComponent(db.username);
      const password = encodeURIComponent(db.password);
      return `postgres://${user}:${password}@${db.host}:${db.port}/${db.database}`;
    }
    throw new Error(
      "No database configured: set DATABASE_URL, or run under SST with the Database linked.",
    );
  }

  /**
   * TLS to the database. Deployed (the SST link) it is required: RDS and RDS Proxy accept
   * TLS, and traffic inside the VPC stays encrypted. Locally off, and so is a link to a
   * loopback host: in `sst dev` the link is the local Postgres (the `dev` block of
   * infra/database.ts), which has no TLS, and postgres.js's `require` would still try it
   * and fail every connection. DB_SSL overrides (`require`, `verify-full`, `disable`).
   */
  export function databaseSsl(): "require" | "verify-full" | false {
    const mode = process.env.DB_SSL;
    if (mode === "require" || mode === "verify-full") return mode;
    if (mode === "disable" || process.env.DATABASE_URL) return false;
    const host = linked(() => (Resource as unknown as Record<string, DatabaseLink>).Database?.host);
    return host && !loopback(host) ? "require" : false;
  }

  /** localhost, or 127.0.0.0/8 (the link's host goes into a URL, so no bare IPv6). */
  const loopback = (host: string) => host === "localhost" || /^127\.\d+\.\d+\.\d+$/.test(host);

  /** Connections per process: one per Lambda container, a few more for a long-lived server. */
  export function poolSize(): number {
    return Number(process.env.DB_POOL_MAX ?? (process.env.AWS_LAMBDA_FUNCTION_NAME ? 1 : 10));
  }

  export function bucket(): string {
    const name =
      process.env.S3_BUCKET ??
      linked(() => (Resource as unknown as Record<string, { name: string }>).Uploads?.name);
    if (!name) throw new Error("No upload bucket configured: set S3_BUCKET or link Uploads.");
    return name;
  }

  /** Set locally to point the SDK at a loopback S3 server; unset in AWS. */
  export function s3Endpoint(): string | undefined {
    return process.env.S3_ENDPOINT || undefined;
  }

  export function region(): string {
    return process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? "us-east-1";
  }

  export function adminToken(): string | undefined {
    return (
      process.env.ADMIN_TOKEN ??
      linked(() => (Resource as unknown as Record<string, { value: string }>).AdminToken?.value)
    );
  }

  /** Seconds a presigned URL stays valid. */
  export function presignTtl(): number {
    return Number(process.env.PRESIGN_TTL_SECONDS ?? 900);
  }
}

interface DatabaseLink {
  host: string;
  port: number;
  username: string;
  password: string;
  database: string;
}
