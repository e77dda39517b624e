/**
 * The one place where svgvec's domain errors become status codes and messages, for every edge: the
 * codes are gRPC's (Connect's Code enum carries the same numbers), and each edge only puts them on
 * its wire.
 */
import { Code } from "@connectrpc/connect";
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
  if (err instanceof InvalidArgumentError) return Code.InvalidArgument;
  if (err instanceof NotFoundError) return Code.NotFound;
  if (err instanceof FetchError) return err.refused ? Code.InvalidArgument : Code.FailedPrecondition;
  if (err instanceof RenderError) return Code.FailedPrecondition;
  if (err instanceof LimitError) return Code.ResourceExhausted;
  if (err instanceof UnauthenticatedError) return Code.Unauthenticated;
  if (err instanceof CancelledError) return Code.Canceled;
  if (err instanceof StoreUnavailableError || err instanceof ShuttingDownError) return Code.Unavailable;
  if (err instanceof SchemaMismatchError) return Code.FailedPrecondition;
  if (err instanceof EncoderUnavailableError) return Code.Unavailable;
  if (err instanceof StoreRejectedError) return err.rowsRefused ? Code.FailedPrecondition : Code.Internal;
  return Code.Internal;
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

/** Logs a failure at the level it deserves: an unexpected one with its stack, a caller's at debug. */
export function logFailure(err: unknown, log: Logger, method: string): Code {
  const code = statusCode(err);
  if (code === Code.Internal) log.error(`${method} failed`, { error: err instanceof Error ? err.stack : String(err) });
  else log.debug(`${method} answered ${codeName(code)}`, { error: statusMessage(err) });
  return code;
}

/** The gRPC name of a code, as grpcurl and every gRPC library print it: INVALID_ARGUMENT. */
export function codeName(code: Code): string {
  const name = Code[code];
  if (name === undefined) return "UNKNOWN";
  // Connect spells the one code differently.
  if (code === Code.Canceled) return "CANCELLED";
  return name.replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();
}
