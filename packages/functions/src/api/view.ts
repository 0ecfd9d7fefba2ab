/**
 * How core records look on the wire: JSON, ISO timestamps, camelCase. The zod schemas
 * here are the response schemas of the OpenAPI document, built only for it.
 */
import { Job } from "@fred/core/job";
import { Run, RunRequest } from "@fred/core/run";
import { type Presigned, Upload } from "@fred/core/upload";
import type { Token, User } from "@fred/core/user";
import { lazy } from "@fred/core/util";
import { z } from "zod";

const time = lazy(() => z.iso.datetime());

export const JobView = lazy(() =>
  z
    .object({
      id: z.number().int(),
      userId: z.number().int(),
      name: z.string().nullable(),
      description: z.string().nullable(),
      tags: z.array(z.string()),
      status: Job.Status,
      metadata: z.record(z.string(), z.unknown()),
      createdAt: time(),
      updatedAt: time(),
    })
    .meta({ id: "Job" }),
);
export type JobView = z.infer<ReturnType<typeof JobView>>;

export function jobView(job: Job.Info): JobView {
  return {
    id: job.id,
    userId: job.userId,
    name: job.name,
    description: job.description,
    tags: job.tags,
    status: job.status,
    metadata: job.metadata,
    createdAt: job.timeCreated.toISOString(),
    updatedAt: job.timeUpdated.toISOString(),
  };
}

export const UploadView = lazy(() =>
  z
    .object({
      id: z.number().int(),
      context: Upload.Context,
      type: Upload.Type,
      runId: z.number().int().nullable(),
      key: z.string(),
      contentType: z.string().nullable(),
      createdAt: time(),
      expiresAt: time(),
    })
    .meta({ id: "Upload" }),
);
export type UploadView = z.infer<ReturnType<typeof UploadView>>;

export function uploadView(u: Upload.Info): UploadView {
  return {
    id: u.id,
    context: u.context,
    type: u.type,
    runId: u.runId,
    key: u.key,
    contentType: u.contentType,
    createdAt: u.timeCreated.toISOString(),
    expiresAt: u.timeExpires.toISOString(),
  };
}

export const RunView = lazy(() =>
  z
    .object({
      id: z.number().int(),
      jobId: z.number().int(),
      userId: z.number().int(),
      status: Run.Status,
      request: RunRequest(),
      podPhase: z.string().nullable(),
      containerStatus: z.string().nullable(),
      userDeleted: z.boolean(),
      epxClientVersion: z.string().nullable(),
      resultsUploadedAt: time().nullable(),
      createdAt: time(),
      updatedAt: time(),
    })
    .meta({ id: "Run" }),
);
export type RunView = z.infer<ReturnType<typeof RunView>>;

export function runView(r: Run.Info): RunView {
  return {
    id: r.id,
    jobId: r.jobId,
    userId: r.userId,
    status: r.status,
    request: r.request,
    podPhase: r.podPhase,
    containerStatus: r.containerStatus,
    userDeleted: r.userDeleted,
    epxClientVersion: r.epxClientVersion,
    resultsUploadedAt: r.resultsUploadedAt?.toISOString() ?? null,
    createdAt: r.timeCreated.toISOString(),
    updatedAt: r.timeUpdated.toISOString(),
  };
}

export const PresignedView = lazy(() =>
  z
    .object({
      url: z.url(),
      method: z.enum(["PUT", "GET"]),
      key: z.string(),
      headers: z.record(z.string(), z.string()),
      expiresAt: time(),
    })
    .meta({ id: "PresignedUrl" }),
);
export type PresignedView = z.infer<ReturnType<typeof PresignedView>>;

export function presignedView(p: Presigned): PresignedView {
  return { ...p, expiresAt: p.expiresAt.toISOString() };
}

export const UserView = lazy(() =>
  z
    .object({
      id: z.number().int(),
      name: z.string(),
      email: z.string().nullable(),
      createdAt: time(),
    })
    .meta({ id: "User" }),
);
export type UserView = z.infer<ReturnType<typeof UserView>>;

export function userView(u: User.Info): UserView {
  return { id: u.id, name: u.name, email: u.email, createdAt: u.timeCreated.toISOString() };
}

export const TokenView = lazy(() =>
  z
    .object({
      id: z.number().int(),
      prefix: z.string().meta({ description: "The token's first characters; never the secret." }),
      label: z.string().nullable(),
      createdAt: time(),
      lastUsedAt: time().nullable(),
      expiresAt: time().nullable(),
      revokedAt: time().nullable(),
    })
    .meta({ id: "Token" }),
);
export type TokenView = z.infer<ReturnType<typeof TokenView>>;

export function tokenView(t: Token.Info): TokenView {
  const iso = (d: Date | null) => d?.toISOString() ?? null;
  return {
    id: t.id,
    prefix: t.prefix,
    label: t.label,
    createdAt: t.timeCreated.toISOString(),
    lastUsedAt: iso(t.timeLastUsed),
    expiresAt: iso(t.timeExpires),
    revokedAt: iso(t.timeRevoked),
  };
}
