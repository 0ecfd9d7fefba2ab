import { describe, expect, it } from "vitest";
import { COMPRESS_FROM } from "../packages/functions/src/api/json-list";
import {
  API_GATEWAY_TIMEOUT_SECONDS,
  assertSafe,
  GATEWAY_RESPONSES,
  gatewayCorsHeaders,
  gatewayResponseTemplate,
  LOCAL_POSTGRES,
  parseOrigins,
  type StageSettings,
  stageKind,
  stageSettings,
} from "./stage";

const STAGES = ["production", "staging", "dev", "alice", "ci-123"];

describe("stage settings", () => {
  it("classifies stages", () => {
    expect(STAGES.map(stageKind)).toEqual(["production", "staging", "dev", "personal", "personal"]);
  });

  it("production retains, is protected, and keeps its data safe", () => {
    const s = stageSettings("production");
    expect(s.removal).toBe("retain");
    expect(s.protect).toBe(true);
    expect(s.database).toMatchObject({
      version: "17",
      proxy: true,
      multiAz: true,
      deletionProtection: true,
      finalSnapshot: true,
    });
    expect(s.storage.versioning).toBe(true);
    expect(s.storage.forceDestroy).toBe(false);
    expect(s.storage.noncurrentVersionsExpireAfterDays).toBeGreaterThan(0);
  });

  it.each(["staging", "dev", "alice"])("%s can be torn down with sst remove", (stage) => {
    const s = stageSettings(stage);
    expect(s.removal).toBe("remove");
    expect(s.protect).toBe(false);
    expect(s.database.deletionProtection).toBe(false);
    expect(s.storage.forceDestroy).toBe(true);
  });

  it.each(STAGES)("%s: the API times out before API Gateway's 29 s", (stage) => {
    const s = stageSettings(stage);
    expect(s.api.timeoutSeconds).toBeGreaterThan(0);
    expect(s.api.timeoutSeconds).toBeLessThan(API_GATEWAY_TIMEOUT_SECONDS);
    expect(s.migrator.timeoutSeconds).toBeLessThanOrEqual(900);
  });

  it.each(STAGES)("%s: alarm thresholds follow the timeout", (stage) => {
    const s = stageSettings(stage);
    const timeoutMs = s.api.timeoutSeconds * 1000;
    expect(s.alarms.lambdaDurationP95Ms).toBe(Math.round(timeoutMs * 0.8));
    expect(s.alarms.apiLatencyP95Ms).toBeLessThanOrEqual(s.alarms.lambdaDurationP95Ms);
    expect(s.alarms.lambdaErrors).toBeGreaterThan(0);
    expect(s.alarms.api5xxErrors).toBeGreaterThan(0);
    expect(s.alarms.lambdaThrottles).toBeGreaterThan(0);
  });

  it("production alarms are the most sensitive", () => {
    const [prod, staging, dev] = ["production", "staging", "dev"].map((s) => stageSettings(s));
    expect(prod!.alarms.lambdaErrors).toBeLessThan(staging!.alarms.lambdaErrors);
    expect(staging!.alarms.lambdaErrors).toBeLessThanOrEqual(dev!.alarms.lambdaErrors);
    expect(prod!.alarms.apiLatencyP95Ms).toBeLessThan(dev!.alarms.apiLatencyP95Ms);
  });

  it.each(STAGES)("%s: the API Lambda holds one database connection", (stage) => {
    const env = stageSettings(stage).api.environment;
    expect(env.DB_POOL_MAX).toBe("1");
    expect(Number(env.DB_IDLE_TIMEOUT)).toBeGreaterThan(0);
    expect(Number(env.PRESIGN_TTL_SECONDS)).toBe(900);
    // Nothing secret in plain environment variables.
    for (const key of Object.keys(env)) expect(key).not.toMatch(/TOKEN|PASSWORD|SECRET/);
  });

  it("throttles and sizes grow toward production", () => {
    const [prod, staging, dev] = ["production", "staging", "dev"].map((s) => stageSettings(s));
    expect(prod!.api.throttle.rateLimit).toBeGreaterThan(staging!.api.throttle.rateLimit);
    expect(staging!.api.throttle.rateLimit).toBeGreaterThan(dev!.api.throttle.rateLimit);
    for (const s of [prod!, staging!, dev!]) {
      expect(s.api.throttle.burstLimit).toBeGreaterThanOrEqual(s.api.throttle.rateLimit);
    }
    expect(prod!.api.memoryMb).toBeGreaterThanOrEqual(dev!.api.memoryMb);
  });

  it.each(STAGES)("%s: API Gateway compresses from the size the app does", (stage) => {
    // The app compresses only its long lists (json-list.ts); the gateway, everything else.
    expect(stageSettings(stage).api.minimumCompressionSize).toBe(COMPRESS_FROM);
  });

  it("every stage gets a NAT instance, not a NAT gateway, and a bastion", () => {
    for (const stage of STAGES) {
      expect(stageSettings(stage).network).toEqual({ az: 2, nat: "ec2", bastion: true });
    }
  });

  it("the sst dev database is the local Postgres on a fixed port", () => {
    expect(LOCAL_POSTGRES).toMatchObject({ host: "127.0.0.1", port: 54320 });
  });

  it("rejects stage names SST cannot use", () => {
    expect(() => stageSettings("")).toThrow();
    expect(() => stageSettings("my stage")).toThrow();
    expect(() => stageSettings("1st")).toThrow();
  });
});

describe("allowed origins", () => {
  it("come from FRED_ALLOWED_ORIGINS and reach the API and the bucket settings", () => {
    const s = stageSettings("production", {
      FRED_ALLOWED_ORIGINS: "https://app.example.org, https://lab.example.org:8443",
    });
    expect(s.cors.allowedOrigins).toEqual([
      "https://app.example.org",
      "https://lab.example.org:8443",
    ]);
    expect(s.api.environment.ALLOWED_ORIGINS).toBe(
      "https://app.example.org,https://lab.example.org:8443",
    );
  });

  it("default to none in production and staging, local dev servers elsewhere", () => {
    expect(stageSettings("production").cors.allowedOrigins).toEqual([]);
    expect(stageSettings("staging").cors.allowedOrigins).toEqual([]);
    expect(stageSettings("alice").cors.allowedOrigins).toContain("http://localhost:5173");
  });

  it("are validated", () => {
    expect(parseOrigins(undefined)).toEqual([]);
    expect(parseOrigins(" https://a.org ,https://a.org,")).toEqual(["https://a.org"]);
    expect(() => parseOrigins("https://a.org/")).toThrow(/scheme/);
    expect(() => parseOrigins("https://a.org/app")).toThrow(/scheme/);
    expect(() => parseOrigins("a.org")).toThrow(/origin/);
    expect(() => parseOrigins("ftp://a.org")).toThrow(/scheme/);
  });

  it("* is refused in production", () => {
    expect(() => stageSettings("production", { FRED_ALLOWED_ORIGINS: "*" })).toThrow(/\*/);
    expect(stageSettings("dev", { FRED_ALLOWED_ORIGINS: "*" }).cors.allowedOrigins).toEqual(["*"]);
  });

  it("gateway error responses carry CORS headers", () => {
    const h = "gatewayresponse.header";
    expect(gatewayCorsHeaders([])).toEqual({});
    expect(gatewayCorsHeaders(["*"])).toEqual({ [`${h}.Access-Control-Allow-Origin`]: "'*'" });
    expect(gatewayCorsHeaders(["https://a.org"])).toEqual({
      [`${h}.Access-Control-Allow-Origin`]: "'https://a.org'",
      [`${h}.Vary`]: "'Origin'",
    });
    expect(gatewayCorsHeaders(["https://a.org", "https://b.org"])).toEqual({
      [`${h}.Access-Control-Allow-Origin`]: "method.request.header.origin",
      [`${h}.Vary`]: "'Origin'",
    });
  });
});

describe("alarm e-mail", () => {
  it("is optional and validated", () => {
    expect(stageSettings("production").alarms.email).toBeUndefined();
    expect(stageSettings("production", { FRED_ALARM_EMAIL: "ops@example.org" }).alarms.email).toBe(
      "ops@example.org",
    );
    expect(() => stageSettings("production", { FRED_ALARM_EMAIL: "ops" })).toThrow(/e-mail/);
  });
});

describe("assertSafe", () => {
  const broken = (change: (s: StageSettings) => unknown) => {
    const s = structuredClone(stageSettings("production"));
    change(s);
    return () => assertSafe(s);
  };

  it("refuses a timeout at or above API Gateway's", () => {
    expect(broken((s) => Object.assign(s.api, { timeoutSeconds: 29 }))).toThrow(/under 29/);
  });

  it("refuses a production that could be deleted", () => {
    expect(broken((s) => Object.assign(s, { removal: "remove" }))).toThrow(/retain/);
    expect(broken((s) => Object.assign(s, { protect: false }))).toThrow(/retain/);
    expect(broken((s) => Object.assign(s.database, { finalSnapshot: false }))).toThrow(
      /final snapshot/,
    );
    expect(broken((s) => Object.assign(s.storage, { forceDestroy: true }))).toThrow(
      /force-destroyed/,
    );
  });

  it("refuses a duration alarm that would fire only after the timeout", () => {
    expect(broken((s) => Object.assign(s.alarms, { lambdaDurationP95Ms: 20_000 }))).toThrow(
      /before/,
    );
  });
});

describe("gateway responses", () => {
  it("render the app's error shape for every response type", () => {
    // API Gateway substitutes $context.error.messageString with a quoted JSON string.
    for (const { code } of GATEWAY_RESPONSES) {
      const body = gatewayResponseTemplate(code).replaceAll(
        "$context.error.messageString",
        JSON.stringify('Too Many "Requests"'),
      );
      expect(JSON.parse(body)).toEqual({
        error: { code, message: 'Too Many "Requests"' },
        description: 'Too Many "Requests"',
      });
    }
    const types = GATEWAY_RESPONSES.map((r) => r.type);
    expect(types).toEqual(
      expect.arrayContaining(["THROTTLED", "INTEGRATION_TIMEOUT", "DEFAULT_4XX", "DEFAULT_5XX"]),
    );
    expect(new Set(types).size).toBe(types.length);
  });
});
