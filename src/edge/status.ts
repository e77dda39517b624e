/**
 * The one place where svgvec's domain errors become gRPC statuses.
 */
import { status as Code, type ServiceError, Metadata } from "@grpc/grpc-js";
import {
  CancelledError,
  FetchError,
  InvalidArgumentError,
  LimitError,
  NotFoundError,
  RenderError,
  SchemaMismatchError,
  ShuttingDownError,
  StoreRejectedError,
  StoreUnavailableError,
  SvgVecError,
  UnauthenticatedError,
  EncoderUnavailableError,
} from "../errors.js";
import type { Logger } from "../log.js";

export function statusCode(err: unknown): Code {
  if (err instanceof InvalidArgumentError) return Code.INVALID_ARGUMENT;
  if (err instanceof NotFoundError) return Code.NOT_FOUND;
  if (err instanceof FetchError) return err.refused ? Code.INVALID_ARGUMENT : Code.FAILED_PRECONDITION;
  if (err instanceof RenderError) return Code.FAILED_PRECONDITION;
  if (err instanceof LimitError) return Code.RESOURCE_EXHAUSTED;
  if (err instanceof UnauthenticatedError) return Code.UNAUTHENTICATED;
  if (err instanceof CancelledError) return Code.CANCELLED;
  if (err instanceof StoreUnavailableError || err instanceof ShuttingDownError) return Code.UNAVAILABLE;
  if (err instanceof SchemaMismatchError) return Code.FAILED_PRECONDITION;
  if (err instanceof EncoderUnavailableError) return Code.UNAVAILABLE;
  if (err instanceof StoreRejectedError) return err.rowsRefused ? Code.FAILED_PRECONDITION : Code.INTERNAL;
  return Code.INTERNAL;
}

/** The message a caller sees: the domain error's own words, never internals of an unexpected failure. */
export function statusMessage(err: unknown): string {
  if (err instanceof SvgVecError) return err.message;
  return "internal error in svgvec; the server log has the details";
}

export function toServiceError(err: unknown, log: Logger, method: string): Partial<ServiceError> {
  const code = statusCode(err);
  if (code === Code.INTERNAL) log.error(`${method} failed`, { error: err instanceof Error ? err.stack : String(err) });
  else log.debug(`${method} answered ${Code[code]}`, { error: statusMessage(err) });
  return { code, details: statusMessage(err), metadata: new Metadata() };
}

export function codeName(code: Code): string {
  return Code[code] ?? "UNKNOWN";
}
