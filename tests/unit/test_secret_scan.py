"""Masking configured secret values out of what lands (scrapers/core/redact.py, SecretScan).

Every masked document must still read as JSON, hold the value in none of its strings, keys or
numbers (as it is or percent-encoded), and name the variable; bytes without a value are untouched.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, quote_plus, unquote, unquote_plus

import pytest

from scrapers.core.redact import MASK, UNNAMED, Redactor, SecretScan, UnmaskableSecret
from scrapers.core.settings import Settings

KEY = "bdl-canary-key-7f3a9c2e5b1d4488"
# Characters JSON escapes (`"`, `\`, a control character), PHP escapes (`/`), ASCII-only
# serialisers escape (é) and URL encoders encode (`+`, `=`, `~`, space, `&`, `%`).
ODD = 'odd"s+k/ey=\\x~y é&%41\tz'
SCAN = SecretScan({KEY: "BDL_API_KEY", ODD: "ODDS_API_KEY"})


def _strings(value: Any) -> list[str]:
    """Every string, key and number a JSON reader sees, as text."""
    if isinstance(value, dict):
        return [text for key, child in value.items() for text in (str(key), *_strings(child))]
    if isinstance(value, list):
        return [text for item in value for text in _strings(item)]
    return [value if isinstance(value, str) else repr(value)]


def _lower_hex(encoded: str) -> str:
    return re.sub(r"%[0-9A-F]{2}", lambda m: m.group().lower(), encoded)


def _holds(value: Any, secret: str) -> bool:
    return any(secret in t or secret in unquote(t) or secret in unquote_plus(t) for t in _strings(value))


def test_bytes_without_a_value_are_returned_as_they_are() -> None:
    data = json.dumps({"team": "Boston Celtics", "path": "a\\/b", "name": "Don\\u010di\\u0107"}).encode()
    assert SCAN.mask_json(data).data is data
    assert SCAN.mask_json(data, canonical=True) == SCAN.mask_json(data)
    assert SecretScan({}).mask_json(data).data is data
    assert not SecretScan({})
    assert SCAN


def test_a_value_in_a_string_is_masked_within_it_and_named() -> None:
    data = json.dumps({"team": {"full_name": f"Echo {KEY}!"}}, ensure_ascii=False).encode()
    masked = SCAN.mask_json(data, canonical=True)
    assert masked.names == ("BDL_API_KEY",)
    assert json.loads(masked.data) == {"team": {"full_name": f"Echo {MASK}!"}}


@pytest.mark.parametrize(
    "serialise",
    [
        lambda doc: json.dumps(doc, ensure_ascii=False),
        lambda doc: json.dumps(doc),  # \u00e9, \t, \" and \\
        lambda doc: json.dumps(doc).replace("/", "\\/"),  # PHP
        lambda doc: json.dumps(doc).replace("\\u00e9", "\\u00E9"),  # upper-case hex
        lambda doc: json.dumps(doc, indent=2, separators=(",", " : ")),
    ],
    ids=["utf8", "ascii", "php-slashes", "upper-hex", "indented"],
)
def test_a_value_with_characters_json_escapes_is_masked_in_place(serialise: Any) -> None:
    document = {"echo": f"key={ODD}", ODD: [1, {"deep": ODD}], "other": "kept /\\ \u00e9"}
    data = serialise(document).encode()
    masked = SCAN.mask_json(data)
    assert masked.names == ("ODDS_API_KEY",)
    assert json.loads(masked.data) == {
        "echo": f"key={MASK}",
        MASK: [1, {"deep": MASK}],
        "other": "kept /\\ \u00e9",
    }
    # Masked in place: the serialiser's own layout and escapes outside the value are kept.
    escaped = serialise([ODD]).strip("[] \n")[1:-1]  # the value as this serialiser writes it
    assert masked.data == data.replace(escaped.encode(), MASK.encode())


@pytest.mark.parametrize(
    "encode",
    [
        lambda v: quote(v, safe=""),
        lambda v: quote(v),
        lambda v: quote_plus(v),  # httpx's query encoding
        lambda v: _lower_hex(quote(v, safe="")),
        lambda v: quote(v, safe="!'()*~"),  # encodeURIComponent
        lambda v: quote(v, safe="").replace("~", "%7E"),
    ],
    ids=["quote", "quote-path", "quote-plus", "lower-hex", "uri-component", "tilde-encoded"],
)
def test_a_percent_encoded_value_in_an_echoed_url_is_masked(encode: Any) -> None:
    url = f"https://api.the-odds-api.com/v4/sports?regions=us&apiKey={encode(ODD)}&dateFormat=iso"
    data = json.dumps([{"id": "e1", "echo": url}]).encode()
    masked = SCAN.mask_json(data)
    assert masked.names == ("ODDS_API_KEY",)
    decoded = json.loads(masked.data)
    assert not _holds(decoded, ODD)
    assert decoded[0]["id"] == "e1"
    assert decoded[0]["echo"].startswith(("https://api.the-odds-api.com/v4/sports?regions=us&apiKey=", MASK))


def test_a_value_spelled_with_needless_escapes_is_found_and_the_document_written_again() -> None:
    spelled = "".join(f"\\u{ord(char):04x}" for char in KEY[:4]) + KEY[4:]
    data = b'[\n  {"id": "e1", "note": "' + spelled.encode() + b'"}\n]'
    masked = SCAN.mask_json(data)
    assert masked.names == ("BDL_API_KEY",)
    assert json.loads(masked.data) == [{"id": "e1", "note": MASK}]
    # Our own documents are json.dumps(ensure_ascii=False): no such escapes, no need to read them.
    assert SCAN.mask_json(data, canonical=True).data is data


def test_bytes_of_a_value_that_are_not_the_value_are_left() -> None:
    # `\n` + "bdl-canary…" has the bytes `nbdl-canary…` but a reader sees a newline, not that value.
    scan = SecretScan({"nbdl-canary": "BDL_API_KEY"})
    data = json.dumps({"a": "\nbdl-canary"}).encode()
    assert scan.mask_json(data) == scan.mask_json(data, canonical=True)
    assert scan.mask_json(data).data is data
    assert scan.mask_json(data).names == ()


def test_a_value_inside_a_number_cannot_be_masked_and_says_which() -> None:
    scan = SecretScan({"90210417": "BETTINGPROS_API_KEY"})
    with pytest.raises(UnmaskableSecret) as raised:
        scan.mask_json(b'{"zip": 902104170}', canonical=True)
    assert raised.value.names == ("BETTINGPROS_API_KEY",)
    assert "90210417" not in str(raised.value)


def test_a_value_encoded_as_no_mask_form_writes_the_whole_string_as_the_mask() -> None:
    # Plain in one place, percent-encoded letter by letter in another: found by decoding the
    # string, masked by replacing all of it.
    spelled = "".join(f"%{ord(char):02X}" for char in KEY)
    data = json.dumps({"a": f"echo {KEY}", "url": f"https://x/?k={spelled}&b=1"}).encode()
    masked = SCAN.mask_json(data)
    assert masked.names == ("BDL_API_KEY",)
    assert json.loads(masked.data) == {"a": f"echo {MASK}", "url": MASK}


def test_a_document_too_deep_to_read_again_is_refused_not_landed() -> None:
    deep = b"[" * 5000 + json.dumps(KEY).encode() + b"]" * 5000
    with pytest.raises(UnmaskableSecret) as raised:
        SCAN.mask_json(deep, canonical=True)
    assert raised.value.names == ("BDL_API_KEY",)
    with pytest.raises(UnmaskableSecret, match="nested too deeply"):
        SCAN.mask_json(b"[" * 5000 + b'"\\n"' + b"]" * 5000)


def test_a_value_straddling_json_syntax_is_masked_and_stays_json() -> None:
    scan = SecretScan({'key", "b': "BDL_API_KEY"})
    data = json.dumps({"a": 'key", "b'}).encode()  # the raw bytes `key", "b` never occur
    masked = scan.mask_json(data)
    assert masked.names == ("BDL_API_KEY",)
    assert json.loads(masked.data) == {"a": MASK}
    # The raw value *does* occur as JSON syntax in this one; a reader sees two other strings.
    assert scan.mask_json(b'{"a": "key", "b": 1}').names == ()


def test_a_body_that_is_not_json_gets_same_length_masks() -> None:
    pdf = b"%PDF-1.4\n(" + KEY.encode() + b")\n" + quote(ODD, safe="").encode() + b"\nxref 0 12\n%%EOF"
    for masked in (SCAN.mask_opaque(pdf), SCAN.mask_json(pdf)):
        assert masked.names == ("BDL_API_KEY", "ODDS_API_KEY")
        assert len(masked.data) == len(pdf)  # offsets (the xref table) stay true
        assert KEY.encode() not in masked.data
        assert quote(ODD, safe="").encode() not in masked.data
        assert masked.data.startswith(b"%PDF-1.4\n(" + b"*" * len(KEY) + b")")


def test_metadata_and_reasons_are_masked_too() -> None:
    metadata = {"count": 3, "note": f"echo {KEY}", "ids": ["a", "b"]}
    masked = SCAN.mask_value(metadata)
    assert masked.names == ("BDL_API_KEY",)
    assert masked.data == {"count": 3, "note": f"echo {MASK}", "ids": ["a", "b"]}
    clean = {"count": 3}
    assert SCAN.mask_value(clean).data is clean
    assert SCAN.mask_value(f"no events for {KEY}").data == f"no events for {MASK}"
    assert SCAN.mask_value(None).data is None


def test_randomised_values_and_documents_always_mask_to_valid_json() -> None:
    """Values drawn from characters every escape and encoding touches, hidden in documents serialised
    every way we know, as strings, keys and percent-encoded: the result always reads as JSON, holds
    no value and names exactly the variables hidden in it."""
    rng = random.Random(16)
    alphabet = 'abcXYZ0189-_.~+/=&% "\\\t\né€<>'
    encoders: list[Callable[[str], str]] = [
        lambda v: v,
        lambda v: quote(v, safe=""),
        quote_plus,
        lambda v: _lower_hex(quote(v, safe="")),
    ]
    serialisers: list[Callable[[Any], str]] = [
        lambda d: json.dumps(d, ensure_ascii=False),
        json.dumps,
        lambda d: json.dumps(d).replace("/", "\\/"),
        lambda d: json.dumps(d, indent=1),
    ]
    for case in range(300):
        values = {
            f"SECRET_{n}": "".join(rng.choice(alphabet) for _ in range(rng.randint(4, 16))) for n in range(3)
        }
        values = {name: value for name, value in values.items() if len(set(values.values())) == 3}
        if not values:
            continue
        scan = SecretScan({value: name for name, value in values.items()})
        hidden = rng.sample(sorted(values), rng.randint(0, 2))
        document: dict[str, Any] = {"id": case, "plain": "nothing here", "list": [1.5, None, True]}
        for name in hidden:
            text = f"x{rng.choice(encoders)(values[name])}y"
            if rng.random() < 0.3:
                document[text] = "as a key"
            else:
                document.setdefault("echo", []).append(text)
        data = rng.choice(serialisers)(document).encode()
        masked = scan.mask_json(data)
        decoded = json.loads(masked.data)
        for name, value in values.items():
            assert not _holds(decoded, value), (case, name, value, masked.data)
        # A hidden value is always found; another one only when the random text happens to hold it.
        assert set(hidden) <= set(masked.names), (case, hidden, masked.names)
        assert set(masked.names) <= {name for name, value in values.items() if _holds(document, value)}
        assert decoded["id"] == case
        assert decoded["list"] == [1.5, None, True]


def test_the_redactor_keeps_each_value_with_its_variable() -> None:
    redactor = Redactor(["abc", "unnamed-value"])  # too short to mask anything: dropped
    redactor.add(KEY)  # as the fetcher adds a key it sends: no name (yet)
    assert redactor.scan().found(KEY.encode()) == (UNNAMED,)
    before = redactor.scan()
    redactor.add(KEY)
    assert redactor.scan() is before  # a known value changes nothing, the scan is kept
    redactor.add(KEY, "BDL_API_KEY")  # named once the run knows where it came from
    redactor.add(KEY)  # and an unnamed add never forgets the name
    assert redactor.named == {"unnamed-value": None, KEY: "BDL_API_KEY"}
    assert redactor.scan().found(f"x{KEY}".encode()) == ("BDL_API_KEY",)
    assert redactor(f"x{KEY}") == f"x{MASK}"


def test_settings_name_every_declared_secret() -> None:
    settings = Settings.from_env(
        {"BDL_API_KEY": KEY, "BETTINGPROS_API_KEY": "bp-key-123456", "COURTSIDE_SERVICE_TOKEN": "tok-123456"}
    )
    assert settings.named_secrets() == {
        "BDL_API_KEY": KEY,
        "BETTINGPROS_API_KEY": "bp-key-123456",
        Settings.variable("service_token"): "tok-123456",
    }
    assert sorted(settings.named_secrets().values()) == sorted(settings.secret_values())
