"""The input parsers' invariant (h11's): accept it or raise a 4xx error, never anything else;
and what is accepted is text every codec and database downstream can take."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from types import SimpleNamespace

from hypothesis import given, settings
from hypothesis import strategies as st

from config.settings import is_identifier
from web.auth import bearer_token
from web.body import parse_object
from web.errors import BadRequest
from web.hours_api import MAX_ID, MAX_YEAR, MIN_YEAR, _parse_time, exception_id

# Every code point, lone surrogates and NUL included.
ANY_CHAR = st.characters(codec=None, exclude_categories=())
ANY_TEXT = st.text(ANY_CHAR, max_size=30)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | ANY_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(ANY_TEXT, inner, max_size=4),
    max_leaves=12,
)
NOW = datetime(2025, 6, 2, 10, tzinfo=UTC)


def _clean(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" not in value and value.encode("utf-8") is not None
    if isinstance(value, list):
        return all(_clean(v) for v in value)
    if isinstance(value, dict):
        return all(_clean(k) and _clean(v) for k, v in value.items())
    return True


def _accepted_or_400(raw: bytes) -> None:
    try:
        fields = parse_object(raw)
    except BadRequest:
        return
    data = fields._data
    assert _clean(data)
    for name in data:
        for read in (fields.string, fields.opt_string, fields.string_list):
            try:
                read(name)
            except BadRequest:
                pass


@settings(max_examples=300)
@given(JSON_VALUES)
def test_any_json_value_is_an_object_of_clean_text_or_a_400(value):
    _accepted_or_400(json.dumps(value).encode())


@settings(max_examples=300)
@given(st.dictionaries(ANY_TEXT, JSON_VALUES, max_size=5))
def test_any_json_object_is_clean_text_or_a_400(value):
    _accepted_or_400(json.dumps(value).encode())


@settings(max_examples=300)
@given(st.binary(max_size=200))
def test_any_bytes_are_an_object_or_a_400(raw):
    _accepted_or_400(raw)


OFFSETS = st.integers(-23 * 60 - 59, 23 * 60 + 59).map(lambda m: timezone(timedelta(minutes=m)))
TIMES = st.one_of(
    ANY_TEXT,
    st.datetimes(timezones=st.none() | OFFSETS).map(datetime.isoformat),
    st.datetimes(timezones=OFFSETS).map(lambda d: d.isoformat() + "\n"),
    st.sampled_from(["now", " NOW ", "0001-01-01T00:00+01:00", "9999-12-31T23:59-01:00"]),
)


@settings(max_examples=500)
@given(TIMES)
def test_any_time_text_is_an_aware_time_in_range_or_a_400(text):
    try:
        at = _parse_time("starts_at", text, NOW)
    except BadRequest:
        return
    assert at.tzinfo is UTC
    assert MIN_YEAR - 1 <= at.year <= MAX_YEAR + 1


@settings(max_examples=300)
@given(ANY_TEXT | st.from_regex(r"[0-9]{1,25}", fullmatch=True))
def test_any_path_id_is_a_decimal_int_or_none(raw):
    ident = exception_id(raw)
    assert ident is None or (0 <= ident <= MAX_ID and raw.isascii() and raw.isdigit())


@settings(max_examples=300)
@given(ANY_TEXT)
def test_an_identifier_is_plain_ascii(text):
    if is_identifier(text):
        assert text.isascii() and text.isprintable() and "\n" not in text


@settings(max_examples=300)
@given(st.binary(max_size=60))
def test_any_authorization_header_is_an_ascii_token_or_none(raw):
    # aiohttp decodes header bytes as UTF-8 with surrogateescape.
    value = "Bearer " + raw.decode("utf-8", "surrogateescape").replace("\r", "").replace("\n", "")
    request = SimpleNamespace(headers={"Authorization": value})  # all bearer_token reads
    token = bearer_token(request)  # type: ignore[arg-type]
    assert token is None or token.encode("ascii")
