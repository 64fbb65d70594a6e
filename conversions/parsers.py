"""The API's JSON parser: DRF's, refusing text that is not valid Unicode."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework import exceptions, parsers


def _lone_surrogate(data: Any) -> str | None:
    """Return the first string in `data` (keys included) that cannot be encoded as UTF-8."""
    pending = [data]
    while pending:  # a loop, not recursion: the parser already bounds the depth, not the width
        item = pending.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return item
        elif isinstance(item, Mapping):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return None


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser that refuses lone UTF-16 surrogates such as "\\ud800".

    JSON's escapes can spell a half of a surrogate pair, which no UTF-8 text holds: echoed in an
    error message or stored in a record it fails the encoding with a 500. Refusing it here, where
    every JSON request passes, covers every endpoint and field at once.
    """

    def parse(
        self,
        stream: Any,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        data = super().parse(stream, media_type, parser_context)
        bad = _lone_surrogate(data)
        if bad is not None:
            shown = bad[:40].encode("ascii", "backslashreplace").decode("ascii")
            raise exceptions.ParseError(
                f"JSON parse error - the string '{shown}' holds a lone UTF-16 surrogate, which is "
                "not valid Unicode text; send each character as UTF-8 or as a complete "
                "surrogate pair."
            )
        return data
