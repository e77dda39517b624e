"""Plain values the client returns, converted from the generated svgvec.v1 messages."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from .v1 import svgvec_pb2 as pb


class AddOutcome(enum.Enum):
    """What an add did to the store."""

    UNSPECIFIED = 0
    #: The id was new: a record was created.
    ADDED = 1
    #: The id existed: its url and vector were replaced, added_at was kept.
    REPLACED = 2
    #: The id already held this url with the same SVG content: nothing was written.
    UNCHANGED = 3


class MilvusDeployment(enum.Enum):
    """Which kind of Milvus holds the data."""

    UNSPECIFIED = 0
    LITE = 1
    STANDALONE = 2
    CLUSTER = 3


@dataclass(frozen=True)
class Image:
    """One stored record."""

    id: int
    url: str
    #: The L2-normalised CLIP embedding; empty unless the call asked for vectors.
    vector: tuple[float, ...]
    added_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class AddResult:
    image: Image
    outcome: AddOutcome


@dataclass(frozen=True)
class ItemFailure:
    """One streamed item that was not stored."""

    id: int
    url: str
    #: The gRPC status name the item would have had alone, e.g. "FAILED_PRECONDITION".
    code: str
    #: What went wrong and how to fix it.
    reason: str
    #: The item's position in the stream, from 0.
    index: int


@dataclass(frozen=True)
class StreamSummary:
    """The outcome of stream_add_images: counts, and the failed items in stream order."""

    received: int
    added: int
    replaced: int
    unchanged: int
    failed: int
    #: Only the first 1,000 failures are listed; ``failed`` counts them all.
    failures: tuple[ItemFailure, ...]


@dataclass(frozen=True)
class SearchHit:
    id: int
    url: str
    #: Cosine similarity between the query and the image, -1 to 1.
    similarity: float


@dataclass(frozen=True)
class ModelInfo:
    name: str
    pretrained: str
    dimension: int
    path: str
    #: Images the model embeds per run (0 when dynamic).
    visual_batch: int


@dataclass(frozen=True)
class IndexInfo:
    type: str
    metric_type: str
    params: dict[str, str]


@dataclass(frozen=True)
class MilvusInfo:
    deployment: MilvusDeployment
    version: str
    address: str


@dataclass(frozen=True)
class Stats:
    total_images: int
    collection_name: str
    metric_type: str
    model: ModelInfo
    index: IndexInfo
    milvus: MilvusInfo


def _timestamp(value: str) -> datetime:
    # The server writes ISO-8601 UTC with a "Z", which fromisoformat accepts only from Python 3.11.
    return datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith("Z") else value)


_E = TypeVar("_E", AddOutcome, MilvusDeployment)


def _enum(cls: type[_E], value: int) -> _E:
    # A newer server may send a value this client does not know yet.
    try:
        return cls(value)
    except ValueError:
        return cls.UNSPECIFIED


def image_from(msg: pb.Image) -> Image:
    return Image(
        id=msg.id,
        url=msg.url,
        vector=tuple(msg.vector),
        added_at=_timestamp(msg.added_at),
        updated_at=_timestamp(msg.updated_at),
    )


def add_result_from(msg: pb.AddImageResponse) -> AddResult:
    return AddResult(image=image_from(msg.image), outcome=_enum(AddOutcome, msg.outcome))


def summary_from(msg: pb.StreamAddImagesResponse) -> StreamSummary:
    return StreamSummary(
        received=msg.received,
        added=msg.added,
        replaced=msg.replaced,
        unchanged=msg.unchanged,
        failed=msg.failed,
        failures=tuple(
            ItemFailure(id=f.id, url=f.url, code=f.code, reason=f.reason, index=f.index) for f in msg.failures
        ),
    )


def hit_from(msg: pb.SearchHit) -> SearchHit:
    return SearchHit(id=msg.id, url=msg.url, similarity=msg.similarity)


def stats_from(msg: pb.StatsResponse) -> Stats:
    return Stats(
        total_images=msg.total_images,
        collection_name=msg.collection_name,
        metric_type=msg.metric_type,
        model=ModelInfo(
            name=msg.model.name,
            pretrained=msg.model.pretrained,
            dimension=msg.model.dimension,
            path=msg.model.path,
            visual_batch=msg.model.visual_batch,
        ),
        index=IndexInfo(type=msg.index.type, metric_type=msg.index.metric_type, params=dict(msg.index.params)),
        milvus=MilvusInfo(deployment=_enum(MilvusDeployment, msg.milvus.deployment), version=msg.milvus.version, address=msg.milvus.address),
    )
