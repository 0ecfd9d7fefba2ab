/**
 * The one place where errors become HTTP. Every error body has the same shape:
 * `{"error": {"code", "message", "details"?}, "description"}`, where `description` repeats
 * the message: it is the field the epx client reads from an error (its 400, 403 and 404
 * models). Only a bug or an outage is a 5xx.
 */

import { isUnavailable, pgCode } from "@fred/core/drizzle";
import { AppError, type ErrorCode, UnavailableError } from "@fred/core/error";
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { AppEnv } from "./env";
import { log } from "./log";

const STATUS: Record<ErrorCode, ContentfulStatusCode> = {
  invalid: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  idempotency_mismatch: 422,
  unavailable: 503,
};

/** The body of every error: the app's, the Lambda adapter's and the local server's. */
export function errorBody(code: string, message: string, details?: unknown) {
  return {
    error: { code, message, ...(details === undefined ? {} : { details }) },
    description: message,
  };
}

export function errorResponse(
  c: Context,
  status: ContentfulStatusCode,
  code: string,
  message: string,
  details?: unknown,
) {
  return c.json(errorBody(code, message, details), status);
}

export function onError(err: Error, c: Context<AppEnv>) {
  let error: unknown = err;
  if (!(error instanceof AppError) && isUnavailable(error)) error = new UnavailableError();
  // Postgres gave up on this request for another's sake (a deadlock, as between a deletion
  // and an upload of the same job; or a serialization failure): the retry goes through.
  if (!(error instanceof AppError) && CONTENTION.has(pgCode(error) ?? "")) {
    error = new UnavailableError("A concurrent change to the same data got in the way; retry.");
  }
  if (error instanceof AppError) {
    if (error.code === "unavailable") c.header("Retry-After", "5");
    let status = STATUS[error.code];
    if (error.code === "unauthorized") {
      status = c.get("unauthorizedStatus") ?? status;
      if (status === 401) c.header("WWW-Authenticate", 'Bearer realm="fred"');
    }
    return errorResponse(c, status, error.code, error.message, error.details);
  }
  if (error instanceof HTTPException) {
    const status = error.status as ContentfulStatusCode;
    const code = HTTP_CODES[status] ?? "http_error";
    return errorResponse(c, status, code, error.message || code);
  }
  log.error("unhandled error", {
    requestId: c.get("requestId"),
    error: err.message,
    stack: err.stack,
  });
  return errorResponse(c, 500, "internal", "Something went wrong on our side; it has been logged.");
}

/** deadlock_detected, serialization_failure. */
const CONTENTION = new Set(["40P01", "40001"]);

const HTTP_CODES: Partial<Record<number, string>> = {
  400: "invalid",
  401: "unauthorized",
  404: "not_found",
  405: "method_not_allowed",
  406: "not_acceptable",
  413: "payload_too_large",
  415: "unsupported_media_type",
};
