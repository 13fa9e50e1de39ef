"""Reading and checking JSON request bodies: every 400 names the field that is wrong.

Error messages name fields and types only; they never echo a value (it may be a password).
A body is read only when it is ``application/json`` (else 415), strict UTF-8, without
NaN/Infinity, and without a NUL or an unpaired surrogate in any key or string: those
reach argon2, SQL and logs as text no codec or database accepts.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

from aiohttp import web

from web.errors import BadRequest, BodyTooLarge, UnsupportedMediaType

MAX_BODY_BYTES = 16 * 1024


class Fields:
    """A parsed JSON object body with typed, named accessors."""

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    def only(self, allowed: Collection[str]) -> None:
        """BadRequest naming the first field that is not in ``allowed`` (catches typos)."""
        for name in sorted(self._data):
            if name not in allowed:
                raise BadRequest(f"{_safe_name(name)}: unknown field", code="unknown_field")

    def _get(self, name: str, required: bool) -> Any:
        if name not in self._data or self._data[name] is None:
            if required:
                raise BadRequest(f"{name}: required", code="missing_field")
            return None
        return self._data[name]

    def string(self, name: str, *, max_len: int = 1024) -> str:
        """A required non-empty string of at most ``max_len`` characters."""
        value = self._get(name, True)
        return _check_str(name, value, max_len)

    def opt_string(self, name: str, *, max_len: int = 1024) -> str | None:
        """An optional string (absent or null gives None)."""
        value = self._get(name, False)
        return None if value is None else _check_str(name, value, max_len)

    def string_list(self, name: str, *, max_items: int = 20, max_len: int = 64) -> list[str]:
        """A required list of non-empty strings."""
        value = self._get(name, True)
        if not isinstance(value, list) or len(value) > max_items:
            raise BadRequest(
                f"{name}: must be a list of at most {max_items} strings", code="invalid_field"
            )
        return [_check_str(f"{name}[{i}]", item, max_len) for i, item in enumerate(value)]

    def boolean(self, name: str) -> bool:
        """A required boolean."""
        self._get(name, True)
        return self.opt_bool(name, False)

    def opt_bool(self, name: str, default: bool) -> bool:
        """An optional boolean."""
        value = self._get(name, False)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise BadRequest(f"{name}: must be true or false", code="invalid_field")
        return value


def _check_str(name: str, value: Any, max_len: int) -> str:
    if not isinstance(value, str):
        raise BadRequest(f"{name}: must be a string", code="invalid_field")
    if not value or len(value) > max_len:
        raise BadRequest(f"{name}: must be 1..{max_len} characters", code="invalid_field")
    return value


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # json.loads would give a float nan/inf


def _bad_text(text: str) -> bool:
    """True when ``text`` holds a NUL or a lone surrogate (from a JSON "\\ud800" escape)."""
    if "\x00" in text:
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _check_text(data: dict[str, Any]) -> None:
    """BadRequest naming the top-level field whose keys or strings hold unusable text."""
    for name, value in data.items():
        label = _safe_name(name) if not _bad_text(name) else "(a field)"
        stack: list[Any] = [name, value]
        while stack:  # iterative: nesting depth is bounded only by the body size
            item = stack.pop()
            if isinstance(item, str):
                if _bad_text(item):
                    raise BadRequest(
                        f"{label}: must not contain NUL or unpaired surrogate characters",
                        code="invalid_field",
                    )
            elif isinstance(item, dict):
                stack.extend(item.keys())
                stack.extend(item.values())
            elif isinstance(item, list):
                stack.extend(item)


def _safe_name(name: str) -> str:
    # An unknown key is client-chosen text; show it only if it looks like a field name.
    if len(name) <= 40 and name.isascii() and name.replace("_", "").replace("-", "").isalnum():
        return name
    return "(a field)"


async def read_json(request: web.Request, *, allow_empty: bool = False) -> Fields:
    """The request's JSON object body; BadRequest/BodyTooLarge naming what is wrong.

    With ``allow_empty`` an absent body reads as ``{}`` (for actions that take no fields).
    """
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise BodyTooLarge(f"body: larger than the {MAX_BODY_BYTES // 1024} KiB limit")
    try:
        raw = await request.read()  # the app's client_max_size also enforces the limit
    except web.HTTPRequestEntityTooLarge:
        raise BodyTooLarge(f"body: larger than the {MAX_BODY_BYTES // 1024} KiB limit") from None
    if len(raw) > MAX_BODY_BYTES:
        raise BodyTooLarge(f"body: larger than the {MAX_BODY_BYTES // 1024} KiB limit")
    if allow_empty and not raw.strip():
        return Fields({})  # an action without fields: no body, so no Content-Type either
    charset = (request.charset or "utf-8").lower()
    if request.content_type != "application/json" or charset != "utf-8":
        # aiohttp reads an absent Content-Type as application/octet-stream.
        raise UnsupportedMediaType("body: Content-Type must be application/json")
    return parse_object(raw)


def parse_object(raw: bytes) -> Fields:
    """A JSON object from ``raw``; BadRequest (and nothing else) for anything that is not one."""
    if not raw.strip():
        raise BadRequest("body: a JSON object is required", code="missing_body")
    try:
        # Strict UTF-8 first: json.loads(bytes) would also guess UTF-16 and UTF-32.
        data = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        # No position or excerpt: the text around the error could be a password.
        raise BadRequest("body: not valid JSON", code="invalid_json") from None
    if not isinstance(data, dict):
        raise BadRequest("body: must be a JSON object", code="invalid_json")
    _check_text(data)
    return Fields(data)
