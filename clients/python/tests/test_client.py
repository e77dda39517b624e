"""SvgVecClient against a running svgvec (see conftest.py for the environment it needs)."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator
from datetime import timezone

import grpc
import pytest

from svgvec_client import (
    AddOutcome,
    DeadlineExceededError,
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
    StreamItem,
    SvgVecClient,
    SvgVecError,
    UnauthenticatedError,
    UnavailableError,
)

if not os.environ.get("SVGVEC_TEST_ADDRESS"):
    pytest.skip("SVGVEC_TEST_ADDRESS is not set: these tests need a running svgvec", allow_module_level=True)

# Ids past 2**53 lose their last bits as float64 (JSON numbers in many clients); the int64 extremes
# are where a sign or width mistake shows.
EDGE_IDS = [9007199254740993, -1, -9223372036854775808, 9223372036854775807]


def test_add_image_returns_the_stored_record(client: SvgVecClient, dog_url: str) -> None:
    first = client.add_image(1001, dog_url, include_vector=True)
    assert first.outcome is AddOutcome.ADDED
    assert (first.image.id, first.image.url) == (1001, dog_url)
    assert len(first.image.vector) == client.stats().model.dimension > 0
    assert first.image.added_at.tzinfo == timezone.utc
    assert first.image.updated_at >= first.image.added_at

    again = client.add_image(1001, dog_url)
    assert again.outcome is AddOutcome.UNCHANGED
    assert again.image.vector == ()
    assert again.image.added_at == first.image.added_at


def test_add_image_replaces_an_id_with_a_new_url(client: SvgVecClient, dog_url: str, cat_url: str) -> None:
    client.add_image(1002, dog_url)
    replaced = client.add_image(1002, cat_url)
    assert replaced.outcome is AddOutcome.REPLACED
    assert replaced.image.url == cat_url


def test_stream_add_images_from_a_generator_reports_the_bad_item(
    client: SvgVecClient, dog_url: str, cat_url: str, url_404: str
) -> None:
    sent: list[int] = []

    def items() -> Iterator[StreamItem]:
        batch: list[StreamItem] = [(2001, dog_url), {"id": 2002, "url": url_404}, {"id": 2003, "url": cat_url}]
        for item in batch:
            sent.append(2001 + len(sent))
            yield item

    summary = client.stream_add_images(items())
    assert sent == [2001, 2002, 2003]
    assert (summary.received, summary.added, summary.replaced, summary.unchanged, summary.failed) == (3, 2, 0, 0, 1)
    assert len(summary.failures) == 1
    failure = summary.failures[0]
    assert (failure.id, failure.url, failure.index, failure.code) == (2002, url_404, 1, "FAILED_PRECONDITION")
    assert "404" in failure.reason
    assert {i.id for i in client.list_images() if 2001 <= i.id <= 2003} == {2001, 2003}


def test_stream_add_images_reports_an_item_without_id(client: SvgVecClient, dog_url: str) -> None:
    summary = client.stream_add_images([{"url": dog_url}, (None, dog_url)])
    assert (summary.received, summary.failed) == (2, 2)
    assert [(f.index, f.code) for f in summary.failures] == [(0, "INVALID_ARGUMENT"), (1, "INVALID_ARGUMENT")]


def test_stream_add_images_raises_what_the_iterable_raised(client: SvgVecClient, dog_url: str) -> None:
    class Broken(Exception):
        pass

    def items() -> Iterator[StreamItem]:
        yield (2101, dog_url)
        raise Broken("the caller's own failure")

    with pytest.raises(Broken, match="the caller's own failure"):
        client.stream_add_images(items())


def test_stream_add_images_rejects_an_item_of_another_shape(client: SvgVecClient, dog_url: str) -> None:
    with pytest.raises(TypeError, match=r"stream item 1 is 'oops'; send \(id, url\)"):
        client.stream_add_images([(2201, dog_url), "oops"])  # type: ignore[list-item]


def test_list_images_iterates_across_pages(client: SvgVecClient, dog_url: str, cat_url: str) -> None:
    ids = [3001, 3002, 3003, 3004, 3005]
    summary = client.stream_add_images((i, dog_url if i % 2 else cat_url) for i in ids)
    assert summary.failed == 0, summary.failures

    listed = list(client.list_images(page_size=2))
    listed_ids = [i.id for i in listed]
    assert listed_ids == sorted(listed_ids)
    assert set(ids) <= set(listed_ids)
    assert all(i.vector == () for i in listed)
    assert {i.id: i.url for i in listed if i.id in ids} == {i: dog_url if i % 2 else cat_url for i in ids}

    assert len(list(client.list_images(limit=3, page_size=2))) == 3
    with_vectors = list(client.list_images(limit=2, include_vectors=True))
    assert [len(i.vector) for i in with_vectors] == [client.stats().model.dimension] * 2


def test_list_images_can_be_left_early(client: SvgVecClient, dog_url: str) -> None:
    client.stream_add_images([(3101, dog_url), (3102, dog_url), (3103, dog_url)])
    images = client.list_images(page_size=1)
    first = next(images)
    images.close()  # as leaving a for loop does: the call is cancelled, nothing is raised
    assert isinstance(first.id, int)
    assert client.stats().total_images >= 3  # the channel still works


def test_search_stats_and_remove(client: SvgVecClient, dog_url: str, cat_url: str) -> None:
    client.stream_add_images([(4001, dog_url), (4002, cat_url)])

    hits = client.search("a dog", k=2)
    assert 1 <= len(hits) <= 2
    assert all(-1.0 <= h.similarity <= 1.0 for h in hits)
    assert [h.similarity for h in hits] == sorted((h.similarity for h in hits), reverse=True)
    assert len(client.search("a cat", k=1, nprobe=4)) == 1

    stats = client.stats()
    assert stats.total_images >= 2
    assert stats.collection_name != ""
    assert stats.metric_type == "IP"
    assert stats.milvus.address != ""
    assert stats.model.name != ""

    assert client.remove(4001) is True
    assert client.remove(4001) is False
    assert 4001 not in {i.id for i in client.list_images()}
    assert client.stats().total_images == stats.total_images - 1


@pytest.mark.parametrize("id_", EDGE_IDS)
def test_ids_round_trip_exactly(client: SvgVecClient, dog_url: str, url_404: str, id_: int) -> None:
    added = client.add_image(id_, dog_url)
    assert added.image.id == id_

    streamed = client.stream_add_images([(id_, dog_url), (id_, url_404)])
    assert streamed.failures[0].id == id_

    assert [i.id for i in client.list_images() if i.id == id_] == [id_]
    assert id_ in {h.id for h in client.search("a dog", k=1000)}
    assert client.remove(id_) is True
    assert id_ not in {i.id for i in client.list_images()}


BAD_INPUT: list[tuple[Callable[[SvgVecClient], object], str]] = [
    (lambda c: c.add_image(5001, ""), "url"),
    (lambda c: c.search("a dog", k=0), "k"),
    (lambda c: c.search(""), "text"),
    (lambda c: c.search("a dog", nprobe=0), "nprobe"),
    (lambda c: next(c.list_images(page_size=16385)), "page_size"),
]


@pytest.mark.parametrize(
    ("call", "field"), BAD_INPUT, ids=["empty url", "k=0", "empty text", "nprobe=0", "page_size too large"]
)
def test_bad_input_raises_invalid_argument(client: SvgVecClient, call: Callable[[SvgVecClient], object], field: str) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        call(client)
    err = caught.value
    assert err.code is grpc.StatusCode.INVALID_ARGUMENT
    assert err.details.startswith(f"{field}: "), err.details
    assert isinstance(err, SvgVecError) and not isinstance(err, grpc.RpcError)
    assert isinstance(err.__cause__, grpc.RpcError)


def test_an_unreachable_svg_raises_failed_precondition(client: SvgVecClient, url_404: str) -> None:
    with pytest.raises(FailedPreconditionError) as caught:
        client.add_image(5101, url_404)
    assert caught.value.code is grpc.StatusCode.FAILED_PRECONDITION
    assert "404" in caught.value.details
    assert 5101 not in {i.id for i in client.list_images()}


def test_remove_answers_a_missing_id_with_false(client: SvgVecClient) -> None:
    assert client.remove(5201) is False


def test_search_by_image(client: SvgVecClient, dog_url: str, cat_url: str) -> None:
    client.stream_add_images([(5301, dog_url), (5302, cat_url), (5303, cat_url)])
    # Other tests may have stored the same SVGs under other ids: those tie with the ids here.
    mine = client.search(like_id=5302, include_self=True, k=1000)
    assert 5302 in {h.id for h in mine}
    assert mine[0].similarity >= 0.999
    others = client.search(like_id=5302, exclude_ids=[5303], k=1000)
    assert {5302, 5303}.isdisjoint(h.id for h in others)
    assert 5301 in {h.id for h in others}
    close = client.search(like_id=5302, min_similarity=0.999, k=1000)
    assert 5303 in {h.id for h in close} and all(h.similarity >= 0.999 for h in close)
    by_url = client.search(like_url=dog_url, k=1)
    assert by_url[0].similarity >= 0.999
    assert by_url[0].url == dog_url
    with pytest.raises(NotFoundError) as missing:
        client.search(like_id=5399)
    assert "5399" in missing.value.details
    with pytest.raises(InvalidArgumentError) as both:
        client.search("a dog", like_id=5301)
    assert both.value.details.startswith("text and like_id: ")
    for id_ in (5301, 5302, 5303):
        client.remove(id_)


def test_a_call_past_its_timeout_raises_deadline_exceeded(client: SvgVecClient) -> None:
    slow = os.environ.get("SVGVEC_TEST_SLOW_URL")
    if not slow:
        pytest.skip("SVGVEC_TEST_SLOW_URL is not set")
    with pytest.raises(DeadlineExceededError):
        client.add_image(5301, slow, timeout=0.5)
    token = os.environ.get("SVGVEC_TEST_TOKEN") or None
    with SvgVecClient(os.environ["SVGVEC_TEST_ADDRESS"], token=token, timeout=0.5) as short:
        with pytest.raises(DeadlineExceededError):
            short.add_image(5302, slow)


def test_a_missing_or_wrong_token_raises_unauthenticated(dog_url: str) -> None:
    if not os.environ.get("SVGVEC_TEST_TOKEN"):
        pytest.skip("SVGVEC_TEST_TOKEN is not set: the server takes calls without a token")
    address = os.environ["SVGVEC_TEST_ADDRESS"]
    for token in [None, "not-the-token-0123456789"]:
        with SvgVecClient(address, token=token) as c:
            with pytest.raises(UnauthenticatedError) as caught:
                c.add_image(5401, dog_url)
            assert "token" in caught.value.details
            with pytest.raises(UnauthenticatedError):
                next(c.list_images())


def test_a_server_that_is_not_there_raises_unavailable() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # Nothing listens on the port now: the connection is refused at once.
    with SvgVecClient(f"127.0.0.1:{port}", timeout=10) as c:
        with pytest.raises(UnavailableError):
            c.stats()
