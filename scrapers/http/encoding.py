"""A response body's Content-Encoding, undone in bounded steps.

httpx inflates each network read in one call: a 64 KiB read of a gzip bomb becomes ~64 MB at once
(deflate reaches ~1000:1), before any byte limit can look at it. Here every step of zlib returns at
most `STEP` bytes (`decompressobj.decompress(data, max_length)`), so a reader that counts what it
gets stops a bomb within one step past its limit.

What is decoded is what httpx itself decodes without its optional Brotli and Zstandard packages:
`gzip`, `deflate` (zlib-wrapped, or raw as some servers send it), `identity`; any other coding is
passed through as httpx passes it. `ACCEPT_ENCODING` is what the core asks for, so the two agree.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator, Sequence

import httpx

# The most one step may inflate: small next to any body limit, large enough to keep the per-call
# overhead out of sight on real bodies.
STEP = 64 * 1024
ACCEPT_ENCODING = "gzip, deflate"


class _Inflate:
    """One zlib stream (gzip or deflate), inflated at most STEP bytes per call."""

    def __init__(self, wbits: int, *, raw_fallback: bool = False) -> None:
        self._stream = zlib.decompressobj(wbits)
        # `deflate` is zlib-wrapped by the RFC, but some servers send a raw deflate stream; httpx
        # retries as raw deflate when the start fails, and so does this. Until the stream has
        # given output, what it was fed is kept to be fed again (a zlib header fails on its first
        # two bytes, which the network may deliver apart).
        self._fed: bytearray | None = bytearray() if raw_fallback else None

    def feed(self, data: bytes) -> Iterator[bytes]:
        if self._fed is None:
            yield from self._checked(data)
            return
        self._fed += data
        try:
            first = next(self._steps(data), None)
        except zlib.error:
            self._stream = zlib.decompressobj(-zlib.MAX_WBITS)
            data, self._fed = bytes(self._fed), None
            yield from self._checked(data)
            return
        if first is None:
            return  # no output yet: still the stream's start
        self._fed = None
        yield first
        # zlib keeps the input it has not used yet aside; it goes back in with the next step.
        yield from self._checked(self._stream.unconsumed_tail)

    def _checked(self, data: bytes) -> Iterator[bytes]:
        try:
            yield from self._steps(data)
        except zlib.error as exc:
            raise httpx.DecodingError(str(exc)) from exc

    def finish(self) -> Iterator[bytes]:
        try:
            yield from self._steps(b"")
        except zlib.error as exc:  # pragma: no cover - zlib reports a truncated stream by silence
            raise httpx.DecodingError(str(exc)) from exc

    def _steps(self, data: bytes) -> Iterator[bytes]:
        stream = self._stream
        while not stream.eof:
            piece = stream.decompress(data, STEP)
            if piece:
                yield piece
            data = stream.unconsumed_tail
            # Fewer than STEP bytes with no input left: zlib has nothing more to give yet. A full
            # step may leave output pending inside zlib, so it is asked again (with no input).
            if not data and len(piece) < STEP:
                return
        # Bytes after the end of the stream are dropped, as httpx drops them.


class _Identity:
    def feed(self, data: bytes) -> Iterator[bytes]:
        if data:
            yield data

    def finish(self) -> Iterator[bytes]:
        return iter(())


_Stage = _Inflate | _Identity


def _stage(coding: str) -> _Stage | None:
    if coding == "gzip":
        return _Inflate(zlib.MAX_WBITS | 16)
    if coding == "deflate":
        return _Inflate(zlib.MAX_WBITS, raw_fallback=True)
    return None  # identity, and codings httpx would not decode either


class BodyDecoder:
    """Decodes one body, fed its raw chunks in order; no piece it yields exceeds STEP (identity
    passes the network's chunks through as they came)."""

    def __init__(self, codings: Sequence[str]) -> None:
        # Content-Encoding lists codings in the order they were applied: undo the last first.
        stages = [_stage(coding.strip().lower()) for coding in reversed(codings)]
        self._stages: list[_Stage] = [stage for stage in stages if stage is not None] or [_Identity()]
        # Nearly every body is not encoded (or was decoded by an in-process transport): its chunks
        # pass as they came, without a generator per chunk.
        self._identity = isinstance(self._stages[0], _Identity) and len(self._stages) == 1

    @classmethod
    def of(cls, headers: httpx.Headers) -> BodyDecoder:
        if "content-encoding" not in headers:
            return _PASS_THROUGH  # nearly every body: nothing to undo, and nothing to keep per body
        return cls(headers.get_list("content-encoding", split_commas=True))

    def decode(self, raw: bytes) -> Iterable[bytes]:
        if self._identity:
            return (raw,) if raw else ()
        return self._through(0, (raw,))

    def finish(self) -> Iterable[bytes]:
        """What the stages still hold once the raw body has ended, outermost stage first."""
        if self._identity:
            return ()
        return self._finish()

    def _finish(self) -> Iterator[bytes]:
        for index, stage in enumerate(self._stages):
            yield from self._through(index + 1, stage.finish())

    def _through(self, index: int, pieces: Iterable[bytes]) -> Iterator[bytes]:
        # Generators all the way down: each stage's step goes to the next before the next step is
        # taken, so a chain of codings holds at most one step per stage.
        if index == len(self._stages):
            yield from pieces
            return
        stage = self._stages[index]
        for piece in pieces:
            yield from self._through(index + 1, stage.feed(piece))


# Identity holds no state between chunks, so one instance serves every body without an encoding.
_PASS_THROUGH = BodyDecoder(())


def decode_body(codings: Sequence[str], raw: Iterable[bytes]) -> Iterator[bytes]:
    """Every decoded piece of a whole raw body, in bounded steps."""
    decoder = BodyDecoder(codings)
    for chunk in raw:
        yield from decoder.decode(chunk)
    yield from decoder.finish()
