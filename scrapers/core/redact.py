"""Redaction at the boundary: every text that leaves a run (logs, errors, events) passes here, and
every byte that lands is scanned for the configured secret values (`SecretScan`)."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, quote_plus, unquote, unquote_plus

MASK = "***"
# Credentials that have a recognisable shape even when we do not know their value.
_URL_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s:]+:[^/@\s]+@")
_SECRET_QUERY = re.compile(r"(?i)\b(apikey|api_key|access_token|token|password|key)=([^&\s\"']+)")
_BEARER = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]+")
MIN_SECRET_LENGTH = 4
# What a masked value is reported as when it was registered without its variable's name (a
# Redactor assembled by hand); the runs' own redactors name every value (pipeline.wiring).
UNNAMED = "unnamed secret"
_PERCENT_ESCAPE = re.compile(r"%[0-9A-F]{2}")
_HEX = frozenset(b"0123456789abcdefABCDEF")
_BACKSLASH = 0x5C
_UNREAD: Any = object()  # "not decoded yet", where None is a document of its own (`null`)


class Redactor:
    """Masks known secret values and anything shaped like a credential.

    Each value is kept with the variable it came from (`add(value, name)`), so a body that carried
    one can say which without saying what (`scan`).
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: dict[str, str | None] = {}
        self._scan: SecretScan | None = None
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str, name: str | None = None) -> None:
        # Very short values would mask ordinary text and prove nothing; real keys are long.
        if len(secret) < MIN_SECRET_LENGTH:
            return
        # The fetcher adds the key of every request it sends: a known value costs one lookup, and
        # a name learnt once is kept (an unnamed add never forgets it).
        known = self._secrets.get(secret, MASK)
        if known is MASK or (known is None and name is not None):
            self._secrets[secret] = name
            self._scan = None

    @property
    def named(self) -> Mapping[str, str | None]:
        """Every value registered, with the variable it came from (None: not said)."""
        return self._secrets

    def scan(self) -> SecretScan:
        """The values as a body may carry them, built once per set of values."""
        if self._scan is None:
            self._scan = SecretScan(self._secrets)
        return self._scan

    def __call__(self, text: str) -> str:
        # Longest first, so a secret containing another secret is masked whole.
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, MASK)
        text = _URL_USERINFO.sub(lambda m: f"{m.group('scheme')}{MASK}@", text)
        text = _SECRET_QUERY.sub(lambda m: f"{m.group(1)}={MASK}", text)
        return _BEARER.sub(lambda m: f"{m.group(1)} {MASK}", text)


class UnmaskableSecret(ValueError):
    """A configured value sits where no mask keeps the document what it was: inside a number, or
    in a document nested too deeply to write again."""

    def __init__(self, names: Iterable[str]) -> None:
        self.names = tuple(sorted(set(names)))
        super().__init__(
            f"the body carries the value of {', '.join(self.names)} where it cannot be masked"
            if self.names
            else "the body is nested too deeply to be checked for configured secret values"
        )


@dataclass(frozen=True)
class Masked:
    """Bytes or a value with every configured secret value masked, and the variables it carried."""

    data: Any
    names: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Secret:
    value: str
    name: str
    # The value and its percent-encodings (an echoed request URL carries a query key so), as text.
    texts: tuple[str, ...]
    # Every way those texts are written in UTF-8 bytes: as they are, and as JSON serialisers
    # escape them inside a string (minimal, ASCII-only with either hex case, `/` as `\/`).
    forms: tuple[bytes, ...]


class SecretScan:
    """Finds and masks configured secret values in what is about to land.

    The scan is cheap when nothing is there: one `bytes in` test per distinct form of each value
    (for a key of letters, digits, `-`, `_`, `.` and `~`, all forms are the value itself). Only a
    hit (or, in a body we did not serialise, an escape that could spell a value differently)
    reads the JSON, to mask within strings and check that none of the values is left.
    """

    def __init__(self, named: Mapping[str, str | None]) -> None:
        secrets = [
            _secret(value, name or UNNAMED)
            for value, name in named.items()
            if len(value) >= MIN_SECRET_LENGTH
        ]
        # Longest first: a value that contains another is masked whole, and so is each form.
        self._secrets = tuple(sorted(secrets, key=lambda s: len(s.value), reverse=True))
        self._forms = tuple(sorted({form for s in self._secrets for form in s.forms}, key=len, reverse=True))

    def __bool__(self) -> bool:
        return bool(self._secrets)

    def found(self, data: bytes) -> tuple[str, ...]:
        """The variables any of whose forms occur in `data`, byte for byte."""
        return tuple(sorted({s.name for s in self._secrets if any(form in data for form in s.forms)}))

    def mask_json(self, data: bytes, decoded: Any = _UNREAD, *, canonical: bool = False) -> Masked:
        """`data`, a JSON document, with every value masked as `***` inside its strings.

        `decoded` is the document already read (else it is read when needed). `canonical`: `data`
        is json.dumps(..., ensure_ascii=False) itself, whose escapes are the ones the byte forms
        cover; a body of someone else's may spell a value with escapes of its own (`\\u0061`), so a
        backslash in it has its strings read too. The upstream's own bytes are kept wherever a mask
        in place leaves valid JSON that holds none of the values; otherwise the masked document
        is written again. Raises UnmaskableSecret when a value sits outside every string.
        """
        if not self._secrets:
            return Masked(data)
        hit = any(form in data for form in self._forms)
        if not hit and (canonical or b"\\" not in data):
            return Masked(data)
        try:
            return self._mask_read(data, decoded)
        except RecursionError:
            # Nested as deep as the decoder allows, too deep to read or write again here: not
            # landed rather than landed with a key in it.
            raise UnmaskableSecret(self.found(data)) from None

    def _mask_read(self, data: bytes, decoded: Any) -> Masked:
        if decoded is _UNREAD:
            try:
                decoded = json.loads(data)
            except ValueError:
                return self.mask_opaque(data)  # not JSON after all: nothing to keep valid
        names = self._present(decoded)
        if not names:
            return Masked(data)  # e.g. `nabcd` in `\nabcd`: bytes of a form, not the value
        candidate = self._replace_in_strings(data)
        try:
            after: Any = json.loads(candidate)
        except ValueError:
            after = _UNREAD  # a form straddled JSON syntax: write the document again
        if after is _UNREAD or self._present(after):
            after = self._masked(decoded)
            if self._present(after):
                raise UnmaskableSecret(names)
            candidate = json.dumps(after, ensure_ascii=False).encode("utf-8")
        return Masked(candidate, names)

    def mask_opaque(self, data: bytes) -> Masked:
        """`data` of a format we do not read (a PDF) with each form overwritten by as many `*`:
        the same length, so offsets into the file (a PDF's cross-reference table) stay true."""
        if not self._secrets:
            return Masked(data)
        names = self.found(data)
        for form in self._forms:
            data = data.replace(form, b"*" * len(form))
        return Masked(data, names)

    def mask_value(self, value: Any) -> Masked:
        """A JSON-shaped value (completion metadata, a reason) with the values masked in its
        strings and keys; unchanged, and not walked, when its JSON text carries none of them."""
        if not self._secrets:
            return Masked(value)
        text = json.dumps(value, ensure_ascii=False, default=str).encode("utf-8")
        if not any(form in text for form in self._forms):
            return Masked(value)
        names = self._present(value)
        return Masked(self._masked(value), names) if names else Masked(value)

    # --- reading decoded values

    def _present(self, value: Any) -> tuple[str, ...]:
        """The variables whose values a JSON reader of `value` would find: in a string or a key,
        as they are or percent-encoded, or in a number's digits."""
        names: set[str] = set()
        for text in _texts(value):
            for secret in self._secrets:
                if secret.name not in names and _carries(text, secret.value):
                    names.add(secret.name)
        return tuple(sorted(names))

    def _masked(self, value: Any) -> Any:
        if isinstance(value, str):
            return self._mask_text(value)
        if isinstance(value, Mapping):
            return {
                self._mask_text(k) if isinstance(k, str) else k: self._masked(v) for k, v in value.items()
            }
        if isinstance(value, list | tuple):
            return [self._masked(item) for item in value]
        return value

    def _mask_text(self, text: str) -> str:
        for secret in self._secrets:
            for form in secret.texts:
                if form in text:
                    text = text.replace(form, MASK)
            if _carries(text, secret.value):
                # Encoded some other way (`~` as %7E, letters escaped): the whole text goes.
                return MASK
        return text

    # --- bytes

    def _replace_in_strings(self, data: bytes) -> bytes:
        """Each form replaced by `***` where it is not part of an escape sequence (`\\n`, `\\u00e9`):
        inside a string that keeps the string valid."""
        mask = MASK.encode()
        for form in self._forms:
            at = data.find(form)
            if at == -1:
                continue
            parts: list[bytes] = []
            start = 0
            while at != -1:
                if _inside_escape(data, at):
                    at = data.find(form, at + 1)
                    continue
                parts += [data[start:at], mask]
                start = at + len(form)
                at = data.find(form, start)
            parts.append(data[start:])
            data = b"".join(parts)
        return data


def _secret(value: str, name: str) -> _Secret:
    encoded = [
        quote(value, safe=""),
        quote(value),  # `/` kept, as in a path
        quote_plus(value, safe=""),  # a query string (httpx, form posts): space as `+`
        quote_plus(value, safe="/"),
        quote(value, safe="!'()*~"),  # JavaScript's encodeURIComponent
        quote(value, safe="").replace("~", "%7E"),  # RFC 2396 encoders
    ]
    texts = [value, *encoded, *(_PERCENT_ESCAPE.sub(lambda m: m.group().lower(), text) for text in encoded)]
    forms: list[bytes] = []
    for text in dict.fromkeys(texts):
        escaped = json.dumps(text, ensure_ascii=False)[1:-1]
        ascii_only = json.dumps(text)[1:-1]
        upper_hex = re.sub(r"\\u([0-9a-f]{4})", lambda m: "\\u" + m.group(1).upper(), ascii_only)
        for form in (text, escaped, ascii_only, upper_hex):
            forms += [form.encode("utf-8"), form.replace("/", "\\/").encode("utf-8")]
    return _Secret(
        value=value,
        name=name,
        texts=tuple(sorted(dict.fromkeys(texts), key=len, reverse=True)),
        forms=tuple(dict.fromkeys(forms)),
    )


def _carries(text: str, value: str) -> bool:
    if value in text:
        return True
    if "%" in text or "+" in text:
        return value in unquote(text) or value in unquote_plus(text)
    return False


def _texts(value: Any) -> Iterator[str]:
    """Every string, key and number of a JSON-shaped value as a reader sees it; iterative, since
    a body may nest as deep as the decoder allows."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, Mapping):
            for key, child in item.items():
                yield str(key)
                stack.append(child)
        elif isinstance(item, list | tuple):
            stack.extend(item)
        elif isinstance(item, int | float) and not isinstance(item, bool):
            yield repr(item)


def _inside_escape(data: bytes, at: int) -> bool:
    """Whether `data[at]` continues an escape sequence: right after an unescaped backslash, or
    among the four hex digits of a `\\uXXXX`."""
    if _escaped(data, at):
        return True
    for start in range(max(0, at - 5), at - 1):
        if (
            data[start] == _BACKSLASH
            and data[start + 1 : start + 2] == b"u"
            and not _escaped(data, start)
            and all(byte in _HEX for byte in data[start + 2 : at])
        ):
            return True
    return False


def _escaped(data: bytes, at: int) -> bool:
    run = 0
    while at - run - 1 >= 0 and data[at - run - 1] == _BACKSLASH:
        run += 1
    return run % 2 == 1


class RedactingFormatter(logging.Formatter):
    """Masks secrets in whole formatted log records: messages, their arguments and tracebacks.

    Libraries log what they send and receive: httpx logs every request URL at INFO (query-string API
    keys included) and httpcore logs response headers at DEBUG (where an upstream may echo the key).
    """

    def __init__(self, redactor: Redactor, fmt: str | None = None) -> None:
        super().__init__(fmt)
        self.redactor = redactor

    def format(self, record: logging.LogRecord) -> str:
        return self.redactor(super().format(record))
