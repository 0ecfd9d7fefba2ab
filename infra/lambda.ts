/**
 * What every Lambda of ours shares: Node 22 on arm64 (about 20% cheaper per ms than x86),
 * in the VPC's private subnets, JSON logs with the stage's retention, and the same esbuild
 * settings as packages/scripts/src/bundle.ts (ESM, minified, split, zod English-only).
 */
import { vpc } from "./network";
import { settings } from "./settings";

export const lambdaDefaults = {
  runtime: "nodejs22.x",
  architecture: "arm64",
  vpc,
  logging: { format: "json", retention: settings.api.logRetention },
  // Splitting keeps what only some requests need (the S3 SDK, behind a dynamic import)
  // out of the chunk every cold start loads; the plugins drop zod's unused locales.
  nodejs: { format: "esm", minify: true, splitting: true, plugins: "./infra/esbuild-plugins.mjs" },
} satisfies Partial<sst.aws.FunctionArgs>;
