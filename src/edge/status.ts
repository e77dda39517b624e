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

/**
 * Most bytes of a status message as grpc-js sends it: percent-encoded, in the grpc-message trailer.
 * Messages quote what callers and downloaded servers sent (URLs, redirect targets, headers), which
 * can run to tens of KB; a trailer past a client's header-list limit wedges a grpc-js connection, and
 * gRPC core clients refuse trailers past 8 KiB.
 */
export const MAX_STATUS_MESSAGE_BYTES = 4096;

/**
 * The message a caller sees: the domain error's own words, never internals of an unexpected failure,
 * as well-formed text whose percent-encoded form takes at most maxBytes.
 */
export function statusMessage(err: unknown, maxBytes = MAX_STATUS_MESSAGE_BYTES): string {
  if (err instanceof SvgVecError) return fitText(err.message, maxBytes);
  return "internal error in svgvec; the server log has the details";
}

/**
 * text cut to at most maxBytes once percent-encoded, with a note where it was cut. A lone surrogate
 * (half an emoji, from a quote cut short) becomes U+FFFD: grpc-js's encodeURI throws on one, which
 * would leave the call unanswered and reject a promise nobody handles.
 */
function fitText(text: string, maxBytes: number): string {
  try {
    if (encodeURI(text).length <= maxBytes) return text;
  } catch {
    // Not well-formed: go through it character by character.
  }
  const note = ` ... [cut to ${maxBytes} bytes]`;
  const budget = maxBytes - encodeURI(note).length;
  let out = "";
  let size = 0;
  let whole = true;
  for (const ch of text) {
    let encoded: string;
    let kept = ch;
    try {
      encoded = encodeURI(ch);
    } catch {
      kept = "\uFFFD";
      encoded = encodeURI(kept);
    }
    if (size + encoded.length > budget) {
      whole = false;
      break;
    }
    out += kept;
    size += encoded.length;
  }
  return whole ? out : out + note;
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
