"""SvgVecClient over TLS, against a running svgvec that serves TLS (see conftest.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from svgvec_client import SvgVecClient, UnauthenticatedError, UnavailableError

if not os.environ.get("SVGVEC_TEST_TLS_ADDRESS"):
    pytest.skip("SVGVEC_TEST_TLS_ADDRESS is not set: these tests need a running svgvec with TLS", allow_module_level=True)

ADDRESS = os.environ["SVGVEC_TEST_TLS_ADDRESS"]
CA_FILE = os.environ.get("SVGVEC_TEST_CA_FILE", "")
TOKEN = os.environ.get("SVGVEC_TEST_TOKEN") or None


def test_tls_with_the_ca_file_and_token_works(dog_url: str) -> None:
    with SvgVecClient(ADDRESS, token=TOKEN, tls_ca=CA_FILE, timeout=60) as c:
        assert c.add_image(9007199254740993, dog_url).image.id == 9007199254740993
        assert [i.id for i in c.list_images()] == [9007199254740993]
        assert c.remove(9007199254740993) is True


def test_tls_without_the_token_raises_unauthenticated() -> None:
    if TOKEN is None:
        pytest.skip("SVGVEC_TEST_TOKEN is not set")
    with SvgVecClient(ADDRESS, tls_ca=CA_FILE, timeout=30) as c:
        with pytest.raises(UnauthenticatedError):
            c.stats()


def test_a_certificate_the_client_does_not_trust_raises_unavailable() -> None:
    # The test server's certificate is self-signed: the system's roots do not vouch for it.
    with SvgVecClient(ADDRESS, token=TOKEN, tls=True, timeout=30) as c:
        with pytest.raises(UnavailableError):
            c.stats()


def test_plaintext_to_a_tls_server_raises_unavailable() -> None:
    with SvgVecClient(ADDRESS, token=TOKEN, timeout=30) as c:
        with pytest.raises(UnavailableError):
            c.stats()


def test_a_missing_ca_file_fails_at_construction(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        SvgVecClient(ADDRESS, tls_ca=tmp_path / "missing.pem")
