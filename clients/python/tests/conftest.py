"""Shared fixtures. The live tests talk to a running svgvec named by environment variables
(the svgvec repository's `npm test` starts one and sets them, see test/clients/python.test.ts):

  SVGVEC_TEST_ADDRESS      host:port of a plaintext server
  SVGVEC_TEST_TOKEN        its bearer token, if it requires one
  SVGVEC_TEST_DOG_URL      URL of an SVG (a dog)
  SVGVEC_TEST_CAT_URL      URL of another SVG (a cat)
  SVGVEC_TEST_404_URL      URL that answers 404
  SVGVEC_TEST_SLOW_URL     URL that sends headers and never the body (optional)
  SVGVEC_TEST_TLS_ADDRESS  host:port of a TLS server with the same token (optional)
  SVGVEC_TEST_CA_FILE      PEM certificate that signed the TLS server's (optional)
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from svgvec_client import SvgVecClient


def env(name: str) -> str:
    value = os.environ.get(name, "")
    if value == "":
        pytest.skip(f"{name} is not set: these tests need a running svgvec (see conftest.py)")
    return value


@pytest.fixture(scope="module")
def client() -> Iterator[SvgVecClient]:
    with SvgVecClient(env("SVGVEC_TEST_ADDRESS"), token=os.environ.get("SVGVEC_TEST_TOKEN") or None, timeout=60) as c:
        yield c


@pytest.fixture(scope="module")
def dog_url() -> str:
    return env("SVGVEC_TEST_DOG_URL")


@pytest.fixture(scope="module")
def cat_url() -> str:
    return env("SVGVEC_TEST_CAT_URL")


@pytest.fixture(scope="module")
def url_404() -> str:
    return env("SVGVEC_TEST_404_URL")
