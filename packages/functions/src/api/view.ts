/**
 * How core records look on the wire: JSON, ISO timestamps, camelCase. The zod schemas
 * here are the response schemas of the OpenAPI document, built only for it.
 */
import { Job } from "@fred/core/job";
import { Run, RunRequest } from "@fred/core/run";
import { type Presigned, Upload } from "@fred/core/upload";
import type { Token, User } from "@fred/core/user";
import { lazy } from "@fred/core/util";
import * as z from "zod";

const time = lazy(() => z.iso.datetime());

let lastTime = Number.NaN;
let lastIso = "";

/**
 * A time in ISO 8601. Runs submitted together share their timestamps (one statement's
 * `now()`), so a list formats the same instant again and again: the last one is kept. A
 * 1000-run response made 2000 `toISOString()` calls, ~0.9 ms; now it makes a few.
 */
export function isoTime(date: Date): string {
  const time = date.getTime();
  if (time !== lastTime) {
    lastIso = date.toISOString(); // throws on an invalid date, as before
    lastTime = time;
  }
  return lastIso;
}

const isoOrNull = (date: Date | null) => (date ? isoTime(date) : null);

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
    createdAt: isoTime(job.timeCreated),
    updatedAt: isoTime(job.timeUpdated),
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
    createdAt: isoTime(u.timeCreated),
    expiresAt: isoTime(u.timeExpires),
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

/** A run's view; a submitted run's request stays the JSON text it was stored as. */
export function runView<R extends Run.Info | Run.Submitted>(
  r: R,
): Omit<RunView, "request"> & { request: R["request"] } {
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
    resultsUploadedAt: isoOrNull(r.resultsUploadedAt),
    createdAt: isoTime(r.timeCreated),
    updatedAt: isoTime(r.timeUpdated),
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
  return { ...p, expiresAt: isoTime(p.expiresAt) };
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
  return { id: u.id, name: u.name, email: u.email, createdAt: isoTime(u.timeCreated) };
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
  return {
    id: t.id,
    prefix: t.prefix,
    label: t.label,
    createdAt: isoTime(t.timeCreated),
    lastUsedAt: isoOrNull(t.timeLastUsed),
    expiresAt: isoOrNull(t.timeExpires),
    revokedAt: isoOrNull(t.timeRevoked),
  };
}
