/**
 * Bearer tokens, checked the same way on every edge: the gRPC metadata and the HTTP header are both
 * `authorization: Bearer <token>`.
 */
import { createHash, timingSafeEqual } from "node:crypto";

/**
 * A check of an authorization value against the configured tokens: undefined when it grants access,
 * otherwise what is wrong with it, in words for the caller.
 */
export type TokenCheck = (authorization: string | undefined) => string | undefined;

export function tokenCheck(tokens: readonly string[], where: "metadata" | "header"): TokenCheck {
  // Compare digests, so the comparison takes the same time whatever the length of the guess.
  const digests = tokens.map(digest);
  const accepted = (presented: string) => {
    const d = digest(presented);
    return digests.some((t) => timingSafeEqual(t, d));
  };
  return (authorization) => {
    if (authorization === undefined) return `this server requires a token: send ${where} authorization: Bearer <token>`;
    const token = bearerToken(authorization);
    if (token === undefined) return `the authorization ${where} must be "Bearer <token>"`;
    if (!accepted(token)) return "the bearer token is not valid for this server";
    return undefined;
  };
}

/** The token of an `authorization: Bearer <token>` value, or undefined when it has another shape. */
export function bearerToken(header: string): string | undefined {
  const parts = header.trim().split(/[ \t]+/);
  if (parts.length !== 2 || parts[0]?.toLowerCase() !== "bearer" || parts[1] === "") return undefined;
  return parts[1];
}

function digest(s: string): Buffer {
  return createHash("sha256").update(s).digest();
}
