"""Content-Encoding undone in bounded steps: the same bytes httpx's own decoding gives, but never
more than `STEP` bytes out of one step, however far a chunk inflates."""

from __future__ import annotations

import gzip
import zlib

import httpx
import pytest

from scrapers.http.encoding import STEP, BodyDecoder, decode_body

DATA = (
    b'{"games": [' + b",".join(b'{"id": %d, "home": "MEM", "away": "CLE"}' % i for i in range(5000)) + b"]}"
)


def _raw_deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    return packer.compress(data) + packer.flush()


def _httpx(codings: str, raw: bytes) -> bytes:
    return httpx.Response(200, headers={"Content-Encoding": codings}, content=raw).content


@pytest.mark.parametrize(
    ("codings", "raw"),
    [
        ("gzip", gzip.compress(DATA)),
        ("deflate", zlib.compress(DATA)),
        ("deflate", _raw_deflate(DATA)),  # what some servers send as `deflate`
        ("deflate, gzip", gzip.compress(zlib.compress(DATA))),  # applied in that order
        ("identity", DATA),
        ("x-unknown", DATA),  # passed through, as httpx passes it
        ("GZip ", gzip.compress(DATA)),
        ("gzip", gzip.compress(DATA) + b"trailing bytes after the member"),
    ],
    ids=["gzip", "deflate", "raw-deflate", "chained", "identity", "unknown", "spelling", "trailing"],
)
def test_a_body_decodes_to_what_httpx_decodes(codings: str, raw: bytes) -> None:
    expected = _httpx(codings, raw)
    assert expected == DATA
    # Whole, and one byte at a time: where the network splits a body must not matter.
    whole = b"".join(decode_body(codings.split(","), [raw]))
    dripped = b"".join(decode_body(codings.split(","), [raw[i : i + 1] for i in range(len(raw))]))
    assert whole == dripped == expected


def test_no_step_yields_more_than_step_bytes_however_far_one_chunk_inflates() -> None:
    bomb = gzip.compress(bytes(64 * 1024 * 1024), compresslevel=9)  # ~64 KiB: one network read
    decoder = BodyDecoder(["gzip"])

    sizes = [len(piece) for piece in decoder.decode(bomb)]
    sizes += [len(piece) for piece in decoder.finish()]

    assert max(sizes) <= STEP
    assert sum(sizes) == 64 * 1024 * 1024


def test_a_reader_that_stops_early_leaves_the_rest_uninflated() -> None:
    bomb = gzip.compress(bytes(64 * 1024 * 1024), compresslevel=9)
    pieces = iter(BodyDecoder(["gzip"]).decode(bomb))

    taken = [next(pieces) for _ in range(3)]

    assert sum(map(len, taken)) == 3 * STEP  # the generator inflated nothing more than it gave


@pytest.mark.parametrize(
    ("codings", "corrupt"),
    [
        ("gzip", b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + b"\xff" * 64),  # invalid block type
        ("gzip", b"not gzip at all"),
        ("deflate", zlib.compress(DATA)[:40] + b"\xff" * 64),  # fails after the start gave output
    ],
    ids=["block", "header", "deflate-body"],
)
def test_a_corrupt_stream_is_a_decoding_error_as_in_httpx(codings: str, corrupt: bytes) -> None:
    with pytest.raises(httpx.DecodingError):
        _httpx(codings, corrupt)
    with pytest.raises(httpx.DecodingError):
        b"".join(decode_body([codings], [corrupt]))
