/**
 * Everything that differs between stages, in one typed and pure module: no SST globals, no
 * AWS calls, no reading of the environment except through the `env` argument. sst.config.ts
 * and the infra modules read it; infra/stage.test.ts pins the rules that keep it safe.
 *
 * Stages: `production`, `staging`, `dev` (the shared development stage), and any other name
 * is a personal stage (`sst deploy --stage alice`), sized like dev.
 *
 * Deploy-time inputs (from the shell or a `.env` / `.env.<stage>` file, which SST loads):
 * - FRED_ALLOWED_ORIGINS: comma-separated browser origins allowed by CORS (API and bucket).
 * - FRED_ALARM_EMAIL: an address that the alarm topic mails (it must confirm once).
 */

export type StageKind = "production" | "staging" | "dev" | "personal";

/** API Gateway REST gives up on an integration after 29 s: the Lambda must finish first. */
export const API_GATEWAY_TIMEOUT_SECONDS = 29;

/** Log retention periods (a subset of the keys SST accepts for `retention`). */
export type Retention = "1 week" | "2 weeks" | "1 month" | "3 months" | "6 months" | "1 year";

/** What `pnpm start` runs when `PGPORT` is set to this port: the `sst dev` database. */
export const LOCAL_POSTGRES = {
  host: "127.0.0.1",
  port: 54320,
  username: "postgres",
  password: "postgres", // the embedded local server's fixed password, not a secret
  database: "postgres",
} as const;

export interface StageSettings {
  stage: string;
  kind: StageKind;
  /** What `sst remove` (or removing a resource from the code) does to stateful resources. */
  removal: "retain" | "remove";
  /** `sst remove` refuses to run on a protected stage. */
  protect: boolean;
  network: {
    az: number;
    /** NAT instances (fck-nat on t4g.nano): about a tenth of the price of NAT gateways. */
    nat: "ec2";
    /** For `sst tunnel` / `sst dev` into the private subnets (reuses the NAT instance). */
    bastion: boolean;
  };
  database: {
    version: "17";
    /** RDS instance class without the `db.` prefix. */
    instance: string;
    /** Storage autoscaling ceiling (SST allocates 20 GB to start). */
    storage: `${number} GB`;
    proxy: boolean;
    multiAz: boolean;
    deletionProtection: boolean;
    /** Take a final snapshot when the instance is deleted (SST's default skips it). */
    finalSnapshot: boolean;
    backupRetentionDays: number;
  };
  storage: {
    versioning: boolean;
    /** Let `sst remove` delete a bucket that still holds objects. */
    forceDestroy: boolean;
    abortIncompleteUploadsAfterDays: number;
    /** With versioning: how long overwritten or deleted versions are kept. */
    noncurrentVersionsExpireAfterDays?: number;
  };
  api: {
    memoryMb: number;
    timeoutSeconds: number;
    logRetention: Retention;
    accessLogRetention: Retention;
    /** API Gateway stage throttling: steady requests per second and burst bucket size. */
    throttle: { rateLimit: number; burstLimit: number };
    /**
     * API Gateway compresses a response from this many bytes when the client accepts gzip
     * or deflate, unless the app already did (it compresses only what could pass Lambda's
     * 6 MB limit): the same threshold as the app's (COMPRESS_FROM, json-list.ts).
     */
    minimumCompressionSize: number;
    /** Plain (non-secret) environment of the API function. */
    environment: Record<string, string>;
  };
  migrator: { memoryMb: number; timeoutSeconds: number };
  cors: { allowedOrigins: string[] };
  alarms: {
    email?: string;
    periodSeconds: number;
    /** Lambda Errors (sum per period) at or above which the alarm fires. */
    lambdaErrors: number;
    /** Lambda Throttles (sum per period) at or above which the alarm fires. */
    lambdaThrottles: number;
    /** Lambda Duration p95 above this (80 % of the timeout) fires. */
    lambdaDurationP95Ms: number;
    /** API Gateway 5XXError (sum per period) at or above which the alarm fires. */
    api5xxErrors: number;
    /** API Gateway Latency p95 above this fires (never above 80 % of the timeout). */
    apiLatencyP95Ms: number;
    /** Consecutive periods over the threshold before the latency/duration alarms fire. */
    latencyEvaluationPeriods: number;
  };
}

export type Env = Readonly<Record<string, string | undefined>>;

export function stageKind(stage: string): StageKind {
  if (stage === "production" || stage === "staging" || stage === "dev") return stage;
  return "personal";
}

/** Parses and checks FRED_ALLOWED_ORIGINS: each entry an origin (scheme://host[:port]) or `*`. */
export function parseOrigins(value: string | undefined): string[] {
  const origins = (value ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  for (const origin of origins) {
    if (origin === "*") continue;
    let url: { protocol: string; origin: string };
    try {
      url = new URL(origin);
    } catch {
      throw new Error(`FRED_ALLOWED_ORIGINS: "${origin}" is not an origin like https://host`);
    }
    if (!/^https?:$/.test(url.protocol) || url.origin !== origin) {
      throw new Error(
        `FRED_ALLOWED_ORIGINS: "${origin}" must be exactly scheme://host[:port] (no path, no trailing slash)`,
      );
    }
  }
  return [...new Set(origins)];
}

/** Origins of the usual local front-end dev servers, allowed on dev and personal stages. */
const LOCAL_ORIGINS = ["http://localhost:5173", "http://127.0.0.1:5173"];

export function stageSettings(stage: string, env: Env = {}): StageSettings {
  if (!/^[a-zA-Z][a-zA-Z0-9-]*$/.test(stage)) {
    throw new Error(`Stage "${stage}": use letters, digits and dashes, starting with a letter`);
  }
  const kind = stageKind(stage);
  const production = kind === "production";
  const staging = kind === "staging";
  const small = kind === "dev" || kind === "personal";

  const timeoutSeconds = 20;
  const configuredOrigins = parseOrigins(env.FRED_ALLOWED_ORIGINS);
  const allowedOrigins = configuredOrigins.length ? configuredOrigins : small ? LOCAL_ORIGINS : [];
  const email = env.FRED_ALARM_EMAIL?.trim() || undefined;
  if (email && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) {
    throw new Error(`FRED_ALARM_EMAIL: "${email}" is not an e-mail address`);
  }
  const durationP95 = Math.round(timeoutSeconds * 1000 * 0.8);
  const latencyObjectiveMs = production ? 3000 : staging ? 5000 : 8000;

  const settings: StageSettings = {
    stage,
    kind,
    removal: production ? "retain" : "remove",
    protect: production,
    network: { az: 2, nat: "ec2", bastion: true },
    database: {
      version: "17",
      instance: production ? "t4g.medium" : staging ? "t4g.small" : "t4g.micro",
      storage: production ? "100 GB" : staging ? "50 GB" : "20 GB",
      proxy: production || staging,
      multiAz: production,
      deletionProtection: production,
      finalSnapshot: production,
      backupRetentionDays: production ? 14 : staging ? 7 : 1,
    },
    storage: {
      versioning: production,
      forceDestroy: !production,
      abortIncompleteUploadsAfterDays: 2,
      noncurrentVersionsExpireAfterDays: production ? 90 : undefined,
    },
    api: {
      memoryMb: small ? 512 : 1024,
      timeoutSeconds,
      logRetention: production ? "3 months" : staging ? "1 month" : "1 week",
      accessLogRetention: production ? "3 months" : staging ? "1 month" : "1 week",
      throttle: production
        ? { rateLimit: 200, burstLimit: 400 }
        : staging
          ? { rateLimit: 50, burstLimit: 100 }
          : { rateLimit: 20, burstLimit: 40 },
      minimumCompressionSize: 8 * 1024,
      environment: {
        ALLOWED_ORIGINS: allowedOrigins.join(","),
        PRESIGN_TTL_SECONDS: "900",
        LOG_LEVEL: production ? "info" : "debug",
        // One connection per Lambda container; RDS Proxy (or Postgres) multiplexes them.
        DB_POOL_MAX: "1",
        DB_IDLE_TIMEOUT: "10",
        DB_CONNECT_TIMEOUT: "5",
      },
    },
    migrator: { memoryMb: 512, timeoutSeconds: 300 },
    cors: { allowedOrigins },
    alarms: {
      email,
      periodSeconds: 300,
      lambdaErrors: production ? 5 : staging ? 10 : 25,
      lambdaThrottles: 1,
      lambdaDurationP95Ms: durationP95,
      api5xxErrors: production ? 5 : staging ? 10 : 25,
      apiLatencyP95Ms: Math.min(latencyObjectiveMs, durationP95),
      latencyEvaluationPeriods: 3,
    },
  };
  assertSafe(settings);
  return settings;
}

/** The invariants every stage keeps; stageSettings never returns settings that break them. */
export function assertSafe(s: StageSettings): void {
  const fail = (why: string) => {
    throw new Error(`Stage "${s.stage}": ${why}`);
  };
  if (s.api.timeoutSeconds >= API_GATEWAY_TIMEOUT_SECONDS) {
    fail(`API timeout ${s.api.timeoutSeconds} s must be under ${API_GATEWAY_TIMEOUT_SECONDS} s`);
  }
  if (s.alarms.lambdaDurationP95Ms >= s.api.timeoutSeconds * 1000) {
    fail("the duration alarm must fire before requests time out");
  }
  if (s.alarms.apiLatencyP95Ms > s.alarms.lambdaDurationP95Ms) {
    fail("the latency alarm threshold must not exceed the duration alarm threshold");
  }
  if (s.kind === "production") {
    const db = s.database;
    if (s.removal !== "retain" || !s.protect) fail("production must retain and be protected");
    if (!db.deletionProtection || !db.finalSnapshot || !db.multiAz || !db.proxy) {
      fail(
        "the production database needs deletion protection, a final snapshot, multi-AZ and the proxy",
      );
    }
    if (s.storage.forceDestroy || !s.storage.versioning) {
      fail("the production bucket must be versioned and never force-destroyed");
    }
  }
  if (s.cors.allowedOrigins.includes("*") && s.kind === "production") {
    fail("production must list its allowed origins; * is not allowed");
  }
}

/**
 * Response headers for the errors API Gateway makes itself (429 throttled, 502/504 from the
 * integration, 413, 403 for unknown methods), so that browsers can read them. A gateway
 * response cannot run the app's allow-list, so: one allowed origin is sent as is; several are
 * answered by echoing the request's Origin (these bodies carry no data); none sends nothing.
 */
export function gatewayCorsHeaders(origins: readonly string[]): Record<string, string> {
  if (origins.length === 0) return {};
  const h = "gatewayresponse.header";
  if (origins.includes("*")) return { [`${h}.Access-Control-Allow-Origin`]: "'*'" };
  if (origins.length === 1) {
    return { [`${h}.Access-Control-Allow-Origin`]: `'${origins[0]}'`, [`${h}.Vary`]: "'Origin'" };
  }
  return {
    [`${h}.Access-Control-Allow-Origin`]: "method.request.header.origin",
    [`${h}.Vary`]: "'Origin'",
  };
}

/**
 * The bodies of errors API Gateway makes itself, in the app's error shape
 * (`{"error":{"code","message"}}`). `$context.error.messageString` is already a quoted JSON
 * string. Specific types override the DEFAULT_4XX / DEFAULT_5XX fallbacks.
 */
export const GATEWAY_RESPONSES: readonly { type: string; code: string }[] = [
  { type: "THROTTLED", code: "throttled" },
  { type: "INTEGRATION_TIMEOUT", code: "timeout" },
  { type: "INTEGRATION_FAILURE", code: "bad_gateway" },
  { type: "REQUEST_TOO_LARGE", code: "payload_too_large" },
  { type: "DEFAULT_4XX", code: "gateway_error" },
  { type: "DEFAULT_5XX", code: "gateway_error" },
];

export function gatewayResponseTemplate(code: string): string {
  // As the app's errors (packages/functions/src/api/error.ts, errorBody): the message again
  // as `description`, the field the epx client reads.
  const message = "$context.error.messageString";
  return `{"error":{"code":"${code}","message":${message}},"description":${message}}`;
}
