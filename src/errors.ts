/**
 * Domain errors. Code inside svgvec throws these; each edge turns them
 * into statuses in one place (src/rpc/status.ts). Messages are written for
 * the caller: what was wrong, and how to fix it.
 */

export abstract class SvgVecError extends Error {
  abstract readonly kind: string;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The caller sent something malformed (maps to INVALID_ARGUMENT). */
export class InvalidArgumentError extends SvgVecError {
  readonly kind = "invalid-argument";
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

/** A thing the caller named does not exist (maps to NOT_FOUND). */
export class NotFoundError extends SvgVecError {
  readonly kind = "not-found";
}

/**
 * Why a download failed, from a fixed set: the reason is a metric label, so it must never carry
 * the URL or a message. The refused_ reasons are the caller's URL being against policy.
 */
export type FetchFailureReason =
  | "invalid_url"
  | "refused_scheme"
  | "refused_credentials"
  | "refused_address"
  | "dns"
  | "network"
  | "timeout"
  | "http_status"
  | "too_many_redirects"
  | "too_large"
  | "bad_encoding";

const REFUSED_REASONS: ReadonlySet<FetchFailureReason> = new Set(["refused_scheme", "refused_credentials", "refused_address"]);

/** The URL could not be downloaded (maps to FAILED_PRECONDITION), or was refused by policy (INVALID_ARGUMENT). */
export class FetchError extends SvgVecError {
  readonly kind = "fetch";
  constructor(
    message: string,
    readonly reason: FetchFailureReason,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** Refused by policy rather than failed: the same URL is refused again. */
  get refused(): boolean {
    return REFUSED_REASONS.has(this.reason);
  }
}

/** The downloaded body is not an SVG that can be rendered (maps to FAILED_PRECONDITION). */
export class RenderError extends SvgVecError {
  readonly kind = "render";
}

/** The call carries no valid credentials (maps to UNAUTHENTICATED). */
export class UnauthenticatedError extends SvgVecError {
  readonly kind = "unauthenticated";
}

/** A limit was reached (maps to RESOURCE_EXHAUSTED). */
export class LimitError extends SvgVecError {
  readonly kind = "limit";
}

/** Milvus could not be reached or failed a call (maps to UNAVAILABLE). */
export class StoreUnavailableError extends SvgVecError {
  readonly kind = "store-unavailable";
}

/** The Milvus collection exists with a schema svgvec cannot serve (maps to FAILED_PRECONDITION). */
export class SchemaMismatchError extends SvgVecError {
  readonly kind = "schema-mismatch";
  constructor(
    readonly collection: string,
    readonly differences: string[],
  ) {
    super(
      `collection "${collection}" exists with a schema svgvec cannot use: ${differences.join("; ")}. ` +
        `Point SVGVEC_COLLECTION at another collection name, or drop this one if its data is not needed.`,
    );
  }
}

/** The model directory is missing or incomplete (a start-up error). */
export class ModelError extends SvgVecError {
  readonly kind = "model";
}

/** The configuration is invalid (a start-up error). */
export class ConfigError extends SvgVecError {
  readonly kind = "config";
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join("\n  - ")}`);
  }
}

/** The caller cancelled the call or its deadline passed (maps to CANCELLED); its work stops. */
export class CancelledError extends SvgVecError {
  readonly kind = "cancelled";
}

/** The server is shutting down (maps to UNAVAILABLE). */
export class ShuttingDownError extends SvgVecError {
  readonly kind = "shutting-down";
  constructor() {
    super("svgvec is shutting down; retry against another instance or after it restarts");
  }
}

/**
 * Milvus answered, and refused the call for a reason a retry will not change (maps to
 * FAILED_PRECONDITION when it refused the rows written for their data, INTERNAL otherwise).
 */
export class StoreRejectedError extends SvgVecError {
  readonly kind = "store-rejected";
  constructor(
    message: string,
    /** Milvus refused the rows of a write for their contents; other rows may be written alone. */
    readonly rowsRefused: boolean,
    /** Milvus's own words. */
    readonly reason: string,
  ) {
    super(message);
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** An encoder's worker thread stopped and is being restarted (maps to UNAVAILABLE); the call did nothing and is safe to retry. */
export class EncoderUnavailableError extends SvgVecError {
  readonly kind = "encoder-unavailable";
}
