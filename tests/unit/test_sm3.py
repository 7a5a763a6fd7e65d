"""SM3 digests (GB/T 32905-2016): OpenSSL's fast implementation and gmssl's fallback give the same digests."""

from __future__ import annotations

import os

import pytest

from handlers.doc_store import gmssl_sm3_hex, sm3_hex

# The standard's own examples (GB/T 32905-2016, appendix A).
VECTORS = {
    b"abc": "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0",
    b"abcd" * 16: "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732",
}


@pytest.mark.parametrize(("content", "digest"), VECTORS.items())
def test_the_standards_examples(content: bytes, digest: str) -> None:
    assert sm3_hex(content) == digest
    assert gmssl_sm3_hex(content) == digest


@pytest.mark.parametrize("size", [0, 1, 55, 56, 63, 64, 65, 4096, 100_003])
def test_both_implementations_agree(size: int) -> None:
    content = os.urandom(size)
    assert sm3_hex(content) == gmssl_sm3_hex(content)
