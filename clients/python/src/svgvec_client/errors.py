"""Exceptions for the gRPC statuses svgvec answers, raised instead of grpc.RpcError."""

from __future__ import annotations

import grpc


class SvgVecError(Exception):
    """A call that svgvec (or the gRPC transport) answered with a status other than OK.

    ``code`` is the gRPC status code and ``details`` the server's message, which names
    what was wrong and how to fix it. Codes without a subclass below raise this class.
    """

    code: grpc.StatusCode
    details: str

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(f"{code.name}: {details}" if details else code.name)
        self.code = code
        self.details = details


class InvalidArgumentError(SvgVecError):
    """Bad input: the details name the field and what to send instead. Do not retry unchanged."""


class NotFoundError(SvgVecError):
    """A thing the call named does not exist."""


class FailedPreconditionError(SvgVecError):
    """The image could not be fetched or rendered (e.g. its URL answered 404), or the store refused it."""


class ResourceExhaustedError(SvgVecError):
    """A limit was reached: a message over the size limit, or too many concurrent calls."""


class UnauthenticatedError(SvgVecError):
    """The server requires a bearer token and none, or a wrong one, was sent (see ``token=``)."""


class PermissionDeniedError(SvgVecError):
    """The caller may not make this call."""


class CancelledError(SvgVecError):
    """The call was cancelled before it finished; nothing was written."""


class DeadlineExceededError(SvgVecError):
    """The call ran past its timeout; the server stops the work and writes nothing."""


class UnavailableError(SvgVecError):
    """The server or its Milvus cannot be reached, or the server is shutting down: safe to retry."""


class UnimplementedError(SvgVecError):
    """The server does not know this RPC: it is older than this client."""


class InternalError(SvgVecError):
    """An unexpected failure inside svgvec; its log has the details."""


_BY_CODE: dict[grpc.StatusCode, type[SvgVecError]] = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgumentError,
    grpc.StatusCode.NOT_FOUND: NotFoundError,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPreconditionError,
    grpc.StatusCode.RESOURCE_EXHAUSTED: ResourceExhaustedError,
    grpc.StatusCode.UNAUTHENTICATED: UnauthenticatedError,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDeniedError,
    grpc.StatusCode.CANCELLED: CancelledError,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceededError,
    grpc.StatusCode.UNAVAILABLE: UnavailableError,
    grpc.StatusCode.UNIMPLEMENTED: UnimplementedError,
    grpc.StatusCode.INTERNAL: InternalError,
}


def error_for(code: grpc.StatusCode, details: str) -> SvgVecError:
    """The exception for a status: the subclass for its code, else SvgVecError itself."""
    return _BY_CODE.get(code, SvgVecError)(code, details)


def from_rpc_error(err: grpc.RpcError) -> SvgVecError:
    """The exception for a failed call; grpc raises RpcErrors that are also grpc.Call objects."""
    if isinstance(err, grpc.Call):
        return error_for(err.code(), err.details() or "")
    return error_for(grpc.StatusCode.UNKNOWN, str(err))
