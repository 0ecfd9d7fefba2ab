/**
 * The errors a user can see. Core throws these; the HTTP layer maps `code` to a status in
 * one place (packages/functions/src/api/error.ts). Anything else is a bug or an outage.
 */
export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export type ErrorCode =
  | "invalid"
  | "unauthorized"
  | "forbidden"
  | "not_found"
  | "conflict"
  | "idempotency_mismatch"
  | "unavailable";

export class InvalidError extends AppError {
  constructor(message: string, details?: unknown) {
    super("invalid", message, details);
  }
}
export class UnauthorizedError extends AppError {
  constructor(message = "A valid bearer token is required.") {
    super("unauthorized", message);
  }
}
export class ForbiddenError extends AppError {
  constructor(message = "This token may not do that.") {
    super("forbidden", message);
  }
}
export class NotFoundError extends AppError {
  constructor(what: string, id?: unknown) {
    super("not_found", id === undefined ? `${what} not found.` : `${what} ${id} not found.`);
  }
}
export class ConflictError extends AppError {
  constructor(message: string, details?: unknown) {
    super("conflict", message, details);
  }
}
export class IdempotencyMismatchError extends AppError {
  constructor() {
    super(
      "idempotency_mismatch",
      "This Idempotency-Key was already used with a different request.",
    );
  }
}
export class UnavailableError extends AppError {
  constructor(message = "The database is unavailable; retry shortly.") {
    super("unavailable", message);
  }
}
