/**
 * Our presigned URLs are the AWS SDK's: byte for byte what `getSignedUrl` returns for the
 * same key, time and expiry, in every configuration the app runs in. s3.ts runs the SDK's
 * middleware once per bucket and signs each URL with the SDK's own presigner; an SDK
 * upgrade that changes how a URL is built fails here. (The presign tests of
 * packages/functions upload and download through a signature-checking S3 server.)
 */
import { GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { presignGet, presignPut, resetS3 } from "../src/upload/s3";

const CONFIGS = [
  { name: "AWS us-east-1", region: "us-east-1", bucket: "fred-production-uploads-abc" },
  { name: "AWS eu-west-1, session token", region: "eu-west-1", bucket: "fred-dev-uploads-x1y2" },
  {
    name: "AWS, a bucket name with dots (path style)",
    region: "eu-west-1",
    bucket: "fred.uploads.example",
  },
  {
    name: "local S3 (endpoint, path style)",
    region: "us-east-1",
    bucket: "fred-uploads",
    endpoint: "http://127.0.0.1:4569",
  },
];

const KEYS = [
  "jobs/42/2026/11/23/062833/run_7_results.zip",
  "jobs/42/2026/11/23/062833/job_input.zip",
  "a key with spaces+plus~tilde=eq&amp?q#h%20.txt",
  "unicode/résumé/日本語/😀.bin",
  "sub-delims!'()*,;:@$[]{}|^`",
  "double//slash/and/./dots/../",
];

const ENV = [
  "AWS_REGION",
  "S3_BUCKET",
  "S3_ENDPOINT",
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN",
] as const;
let saved: Partial<Record<(typeof ENV)[number], string>>;

beforeEach(() => {
  saved = Object.fromEntries(ENV.map((k) => [k, process.env[k]]));
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(new Date("2026-11-23T12:34:56.789Z"));
});

afterEach(() => {
  vi.useRealTimers();
  for (const k of ENV) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
  resetS3();
});

describe("presigned URLs", () => {
  for (const config of CONFIGS) {
    it(`are getSignedUrl's, byte for byte: ${config.name}`, async () => {
      process.env.AWS_REGION = config.region;
      process.env.S3_BUCKET = config.bucket;
      if (config.endpoint) process.env.S3_ENDPOINT = config.endpoint;
      else delete process.env.S3_ENDPOINT;
      process.env.AWS_ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE";
      process.env.AWS_SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
      if (config.name.includes("session token")) {
        process.env.AWS_SESSION_TOKEN = "IQoJb3JpZ2luX2VjE+/token=with/odd+chars==";
      } else {
        delete process.env.AWS_SESSION_TOKEN;
      }
      resetS3();
      // The client s3.ts builds, as getSignedUrl's callers configure it.
      const client = new S3Client({
        region: config.region,
        requestChecksumCalculation: "WHEN_REQUIRED",
        responseChecksumValidation: "WHEN_REQUIRED",
        ...(config.endpoint
          ? {
              endpoint: config.endpoint,
              forcePathStyle: true,
              credentials: {
                accessKeyId: process.env.AWS_ACCESS_KEY_ID,
                secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY,
              },
            }
          : {}),
      });
      const input = (Key: string) => ({ Bucket: config.bucket, Key });
      const expiresIn = 900;
      for (const key of KEYS) {
        expect((await presignGet(key)).url, key).toBe(
          await getSignedUrl(client, new GetObjectCommand(input(key)), { expiresIn }),
        );
        expect((await presignPut(key)).url, key).toBe(
          await getSignedUrl(client, new PutObjectCommand(input(key)), { expiresIn }),
        );
        const typed = { ...input(key), ContentType: "application/zip" };
        expect((await presignPut(key, "application/zip")).url, key).toBe(
          await getSignedUrl(client, new PutObjectCommand(typed), {
            expiresIn,
            signableHeaders: new Set(["content-type"]),
          }),
        );
      }
      if (config.name.includes("session token")) {
        const url = new URL((await presignGet(KEYS[0]!)).url);
        expect(url.searchParams.get("X-Amz-Security-Token")).toBe(process.env.AWS_SESSION_TOKEN);
      }
    });
  }
});
