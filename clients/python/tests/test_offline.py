"""What the client decides without a server: status mapping and argument checks."""

from __future__ import annotations

import grpc
import pytest

import svgvec_client
from svgvec_client import SvgVecClient, SvgVecError
from svgvec_client.errors import error_for

MAPPED = {
    grpc.StatusCode.INVALID_ARGUMENT: svgvec_client.InvalidArgumentError,
    grpc.StatusCode.NOT_FOUND: svgvec_client.NotFoundError,
    grpc.StatusCode.FAILED_PRECONDITION: svgvec_client.FailedPreconditionError,
    grpc.StatusCode.RESOURCE_EXHAUSTED: svgvec_client.ResourceExhaustedError,
    grpc.StatusCode.UNAUTHENTICATED: svgvec_client.UnauthenticatedError,
    grpc.StatusCode.PERMISSION_DENIED: svgvec_client.PermissionDeniedError,
    grpc.StatusCode.CANCELLED: svgvec_client.CancelledError,
    grpc.StatusCode.DEADLINE_EXCEEDED: svgvec_client.DeadlineExceededError,
    grpc.StatusCode.UNAVAILABLE: svgvec_client.UnavailableError,
    grpc.StatusCode.UNIMPLEMENTED: svgvec_client.UnimplementedError,
    grpc.StatusCode.INTERNAL: svgvec_client.InternalError,
}


@pytest.mark.parametrize("code", list(grpc.StatusCode), ids=lambda c: c.name)
def test_every_status_code_becomes_its_exception(code: grpc.StatusCode) -> None:
    err = error_for(code, "url: is required; send the http(s) URL of an SVG file")
    assert type(err) is MAPPED.get(code, SvgVecError)
    assert isinstance(err, SvgVecError)
    assert (err.code, err.details) == (code, "url: is required; send the http(s) URL of an SVG file")
    assert str(err) == f"{code.name}: url: is required; send the http(s) URL of an SVG file"


@pytest.mark.parametrize("token", ["", " padded-token-0123456789 "])
def test_an_empty_or_padded_token_is_refused(token: str) -> None:
    with pytest.raises(ValueError, match="token is empty or has surrounding whitespace"):
        SvgVecClient("127.0.0.1:1", token=token)


def test_a_timeout_of_zero_is_refused() -> None:
    with pytest.raises(ValueError, match="timeout is 0; pass seconds above 0"):
        SvgVecClient("127.0.0.1:1", timeout=0)


def test_an_id_outside_int64_is_refused_before_sending() -> None:
    with SvgVecClient("127.0.0.1:1") as c:
        with pytest.raises(ValueError):
            c.add_image(9223372036854775808, "http://127.0.0.1/x.svg")
