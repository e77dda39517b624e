"""Python client for svgvec, the SVG vector search service (gRPC, svgvec.v1).

    from svgvec_client import SvgVecClient

    with SvgVecClient("127.0.0.1:50051") as svgvec:
        svgvec.add_image(101, "https://example.com/dog.svg")
        for hit in svgvec.search("a dog", k=5):
            print(hit.id, hit.similarity, hit.url)

The generated messages and stub are in svgvec_client.v1 for anything this layer does not cover.
"""

from .client import StreamItem, SvgVecClient
from .errors import (
    CancelledError,
    DeadlineExceededError,
    FailedPreconditionError,
    InternalError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    ResourceExhaustedError,
    SvgVecError,
    UnauthenticatedError,
    UnavailableError,
    UnimplementedError,
)
from .types import (
    AddOutcome,
    AddResult,
    Image,
    IndexInfo,
    ItemFailure,
    MilvusDeployment,
    MilvusInfo,
    ModelInfo,
    SearchHit,
    Stats,
    StreamSummary,
)

__all__ = [
    "AddOutcome",
    "AddResult",
    "CancelledError",
    "DeadlineExceededError",
    "FailedPreconditionError",
    "Image",
    "IndexInfo",
    "InternalError",
    "InvalidArgumentError",
    "ItemFailure",
    "MilvusDeployment",
    "MilvusInfo",
    "ModelInfo",
    "NotFoundError",
    "PermissionDeniedError",
    "ResourceExhaustedError",
    "SearchHit",
    "Stats",
    "StreamItem",
    "StreamSummary",
    "SvgVecClient",
    "SvgVecError",
    "UnauthenticatedError",
    "UnavailableError",
    "UnimplementedError",
]
