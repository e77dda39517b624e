"""SvgVecClient: a blocking client for svgvec.v1 over the generated gRPC stub."""

from __future__ import annotations

import os
from collections.abc import Generator, Iterable, Iterator, Mapping
from types import TracebackType
from typing import Protocol, TypeVar, Union

import grpc

from .errors import from_rpc_error
from .types import (
    AddResult,
    Image,
    SearchHit,
    Stats,
    StreamSummary,
    add_result_from,
    hit_from,
    image_from,
    stats_from,
    summary_from,
)
from .v1 import svgvec_pb2 as pb
from .v1 import svgvec_pb2_grpc

#: One item for stream_add_images: ``(id, url)``, or a mapping with "id" and "url" keys.
#: An id of None (or a mapping without "id") is sent without one, and the server reports it as failed.
StreamItem = Union[tuple[Union[int, None], str], Mapping[str, object]]

# The server sends messages up to 64 MiB (a Search with many hits and long URLs can pass the
# 4 MiB that gRPC clients accept by default); ListImages pages stay under 4 MiB on their own.
_MAX_RECEIVE_BYTES = 64 * 1024 * 1024

_Req = TypeVar("_Req")
_Res = TypeVar("_Res")


class _Stub(Protocol):
    """What the client uses of the generated SvgVecServiceStub, whose module protoc leaves unannotated."""

    AddImage: grpc.UnaryUnaryMultiCallable[pb.AddImageRequest, pb.AddImageResponse]
    StreamAddImages: grpc.StreamUnaryMultiCallable[pb.StreamAddImagesRequest, pb.StreamAddImagesResponse]
    ListImages: grpc.UnaryStreamMultiCallable[pb.ListImagesRequest, pb.ListImagesResponse]
    Search: grpc.UnaryUnaryMultiCallable[pb.SearchRequest, pb.SearchResponse]
    Stats: grpc.UnaryUnaryMultiCallable[pb.StatsRequest, pb.StatsResponse]
    Remove: grpc.UnaryUnaryMultiCallable[pb.RemoveRequest, pb.RemoveResponse]


class SvgVecClient:
    """A client for one svgvec server; use it as a context manager, or call close().

    ``address`` is host:port. ``token`` is sent as ``authorization: Bearer <token>`` on every
    call, for servers started with SVGVEC_AUTH_TOKENS. ``tls_ca`` is a PEM file of the CA that
    signed the server's certificate (for a self-signed certificate, the certificate itself);
    ``tls=True`` without it trusts the system's root certificates. ``timeout`` (seconds) bounds
    every call that gives none of its own; for list_images it bounds the whole listing.

    Failed calls raise a subclass of svgvec_client.SvgVecError, never grpc.RpcError. One client
    may be shared by threads.
    """

    def __init__(
        self,
        address: str,
        *,
        token: str | None = None,
        tls: bool = False,
        tls_ca: str | os.PathLike[str] | None = None,
        timeout: float | None = None,
    ) -> None:
        if token is not None and (token == "" or token.strip() != token):
            raise ValueError("token is empty or has surrounding whitespace; pass the token itself, or None for none")
        if timeout is not None and timeout <= 0:
            raise ValueError(f"timeout is {timeout}; pass seconds above 0, or None for no limit")
        options = [("grpc.max_receive_message_length", _MAX_RECEIVE_BYTES)]
        if tls or tls_ca is not None:
            root = None
            if tls_ca is not None:
                with open(tls_ca, "rb") as f:
                    root = f.read()
            self._channel = grpc.secure_channel(address, grpc.ssl_channel_credentials(root_certificates=root), options)
        else:
            self._channel = grpc.insecure_channel(address, options)
        self._stub: _Stub = svgvec_pb2_grpc.SvgVecServiceStub(self._channel)
        self._metadata: tuple[tuple[str, str], ...] = (("authorization", f"Bearer {token}"),) if token is not None else ()
        self._timeout = timeout

    def __enter__(self) -> SvgVecClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Closes the channel; calls still running are cancelled."""
        self._channel.close()

    def add_image(self, id: int, url: str, include_vector: bool = False, *, timeout: float | None = None) -> AddResult:
        """Downloads the SVG at url, embeds it and upserts it under id (any int64)."""
        request = pb.AddImageRequest(id=id, url=url, include_vector=include_vector)
        return add_result_from(self._unary(self._stub.AddImage, request, timeout))

    def stream_add_images(self, items: Iterable[StreamItem], *, timeout: float | None = None) -> StreamSummary:
        """Sends items in one stream, as the iterable yields them, and returns the server's summary.

        A bad item (unreachable URL, invalid SVG, missing id) does not stop the stream: it is
        counted in ``failed`` and listed in ``failures``. An exception raised by ``items`` itself
        cancels the stream and is re-raised here; items already acknowledged are not undone.
        """
        raised: list[Exception] = []

        def requests() -> Iterator[pb.StreamAddImagesRequest]:
            # grpc reads this on its own thread and turns an exception into CANCELLED: keep it to re-raise.
            try:
                for index, item in enumerate(items):
                    yield _stream_request(item, index)
            except Exception as e:
                raised.append(e)
                raise

        try:
            response = self._stub.StreamAddImages(requests(), timeout=self._deadline(timeout), metadata=self._metadata)
        except grpc.RpcError as e:
            if raised:
                raise raised[0] from None
            raise from_rpc_error(e) from e
        return summary_from(response)

    def list_images(
        self,
        limit: int = 0,
        page_size: int = 0,
        include_vectors: bool = False,
        *,
        timeout: float | None = None,
    ) -> Generator[Image, None, None]:
        """Yields stored records in ascending id order, across the server's pages.

        ``limit`` stops after that many records (0: all); ``page_size`` is records per message
        (0: the server's default). The call starts at the first ``next()``; leaving a ``for``
        loop over it early, or ``close()``, cancels it.
        """
        request = pb.ListImagesRequest(limit=limit, page_size=page_size, include_vectors=include_vectors)
        return self._list(request, self._deadline(timeout))

    def search(
        self,
        text: str = "",
        k: int = 10,
        nprobe: int | None = None,
        *,
        like_id: int | None = None,
        like_url: str = "",
        include_self: bool = False,
        min_similarity: float | None = None,
        exclude_ids: Iterable[int] = (),
        timeout: float | None = None,
    ) -> list[SearchHit]:
        """The k stored images most similar to the query, best first. nprobe None uses the server's default.

        The query is exactly one of ``text``, ``like_url`` (an SVG the server downloads and embeds
        like an add, without storing it) and ``like_id`` (a stored record's vector; the record itself
        is left out unless ``include_self``). ``min_similarity`` keeps only hits at or above it;
        ``exclude_ids`` (at most 1,024) are never returned and do not count towards k.
        """
        request = pb.SearchRequest(text=text, k=k, like_url=like_url, include_self=include_self, exclude_ids=list(exclude_ids))
        if nprobe is not None:
            request.nprobe = nprobe
        if like_id is not None:
            request.like_id = like_id
        if min_similarity is not None:
            request.min_similarity = min_similarity
        return [hit_from(h) for h in self._unary(self._stub.Search, request, timeout).hits]

    def stats(self, *, timeout: float | None = None) -> Stats:
        """Record count, model, collection, index and Milvus of the server."""
        return stats_from(self._unary(self._stub.Stats, pb.StatsRequest(), timeout))

    def remove(self, id: int, *, timeout: float | None = None) -> bool:
        """Deletes the record with id; True when it existed."""
        return self._unary(self._stub.Remove, pb.RemoveRequest(id=id), timeout).removed

    def _deadline(self, timeout: float | None) -> float | None:
        return self._timeout if timeout is None else timeout

    def _unary(self, method: grpc.UnaryUnaryMultiCallable[_Req, _Res], request: _Req, timeout: float | None) -> _Res:
        try:
            return method(request, timeout=self._deadline(timeout), metadata=self._metadata)
        except grpc.RpcError as e:
            raise from_rpc_error(e) from e

    def _list(self, request: pb.ListImagesRequest, timeout: float | None) -> Generator[Image, None, None]:
        call = self._stub.ListImages(request, timeout=timeout, metadata=self._metadata)
        try:
            for page in call:
                for image in page.images:
                    yield image_from(image)
        except grpc.RpcError as e:
            raise from_rpc_error(e) from e
        finally:
            # Ends the server's work when the caller stops iterating early; a no-op once the call is done.
            call.cancel()


def _stream_request(item: StreamItem, index: int) -> pb.StreamAddImagesRequest:
    if isinstance(item, Mapping):
        id_, url = item.get("id"), item.get("url")
    elif isinstance(item, tuple) and len(item) == 2:
        id_, url = item
    else:
        raise TypeError(f"stream item {index} is {item!r}; send (id, url) or {{'id': ..., 'url': ...}}")
    if id_ is not None and (not isinstance(id_, int) or isinstance(id_, bool)):
        raise TypeError(f"stream item {index} has id {id_!r}; ids are ints (int64)")
    if not isinstance(url, str):
        raise TypeError(f"stream item {index} has url {url!r}; urls are str")
    request = pb.StreamAddImagesRequest(url=url)
    if id_ is not None:
        request.id = id_
    return request
