"""What README.md promises, read from README.md itself: its curl examples, its endpoints with
their parameters and answer keys, and the commands it tells a reader to run.

The contract test (tests/test_readme_contract.py) checks these against the code; the newcomer run
(tests/newcomer/) runs the examples against `make run` from a fresh clone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"

# `{a, b: {c, d}, e?}` as README writes a JSON object's keys: a key, then a nested object or a
# value (`"auto"\|1`) up to the next comma at the same depth.
_KEY = re.compile(r"\s*([A-Za-z_][\w]*)(\??)\s*")
_ENDPOINT = re.compile(r"\b(GET|POST|PUT|PATCH|DELETE) (/api/[^\s`\[?]*)")
_PATH = re.compile(r"/api/[A-Za-z0-9_\-/<>{}$.]*")


@dataclass(frozen=True)
class Endpoint:
    """One row of an endpoint table: `METHOD /api/path` and what the row says about it."""

    method: str
    path: str  # normalised: `{id}` for any placeholder, no trailing slash
    row: str

    @property
    def request_keys(self) -> set[str]:
        """Return the request keys the row's first cell names (`{file_id, tier: ...}`, `file`)."""
        cell = cells(self.row)[1]
        keys: set[str] = set()
        body = re.search(r"`(\{.*?\})`", cell)
        if body:
            keys |= set(parse_keys(body.group(1)))
        keys |= set(re.findall(r"`(\w+)(?:=\w+)?`", cell))  # `file`, `tier`, `converter=vtracer`
        keys |= set(re.findall(r"[?&](\w+)=", cell))
        return keys

    @property
    def answer_keys(self) -> dict[str, dict | None] | None:
        """Return the keys of the answer the row's second cell shows, nested, or None."""
        match = re.search(r"`(\{.*?\})`", cells(self.row)[2])
        return parse_keys(match.group(1)) if match else None


def text() -> str:
    """Return README.md."""
    return README.read_text(encoding="utf-8")


def parse_keys(source: str) -> dict[str, dict | None]:
    """Return the keys of a README object `{a, b: {c}, d?}`: optional keys end in `?`."""
    keys, _ = _parse_object(source.replace("\\|", "|"), 0)
    return keys


def _parse_object(source: str, start: int) -> tuple[dict[str, dict | None], int]:
    assert source[start] == "{", source[start:]
    keys: dict[str, dict | None] = {}
    index = start + 1
    while index < len(source):
        match = _KEY.match(source, index)
        if source[index:].lstrip().startswith("<"):  # `<vtracer params>`: a table of their own
            index = _skip_value(source, index)
        elif not match:
            raise ValueError(f"no key at {source[index:]!r} in {source!r}")
        else:
            index = _read_entry(source, match, keys)
        if source[index] == "}":
            return keys, index + 1
        if source[index] != ",":
            raise ValueError(f"expected , or }} at {source[index:]!r} in {source!r}")
        index += 1
    raise ValueError(f"unclosed object in {source!r}")


def _read_entry(source: str, match: re.Match, keys: dict[str, dict | None]) -> int:
    name = match.group(1) + match.group(2)
    index = match.end()
    value: dict | None = None
    if source[index] == ":":
        index += 1
        while source[index] == " ":
            index += 1
        if source[index] == "{":
            value, index = _parse_object(source, index)
    if source[index] not in ",}":  # a value (`"auto"\|1`) or a remark (`progress (percent)`)
        index = _skip_value(source, index)
    keys[name] = value
    return index


def _skip_value(source: str, index: int) -> int:
    depth = 0  # a value such as `[{name, reason}]` holds commas of its own
    while depth or source[index] not in ",}":
        depth += {"[": 1, "{": 1, "]": -1, "}": -1}.get(source[index], 0)
        index += 1
    return index


def cells(row: str) -> list[str]:
    """Return a table row's cells (`\\|` inside a cell is not a border)."""
    return re.split(r"(?<!\\)\|", row)


def normalise(path: str) -> str:
    """Return an /api/ path with `{id}` for `<id>`, `<file_id>`, `$ID` and without a final `/`."""
    path = re.sub(r"<[^>]+>|\{[^}]+\}|\$\w+", "{id}", path)
    return path.rstrip("/.…") or "/"


def endpoints() -> list[Endpoint]:
    """Return every `METHOD /api/...` that starts a row of an endpoint table."""
    found = []
    for line in text().splitlines():
        if not line.startswith("| `"):
            continue
        match = _ENDPOINT.search(cells(line)[1])
        if match:
            found.append(Endpoint(match.group(1), normalise(match.group(2)), line))
    return found


def api_paths() -> set[str]:
    """Return every /api/ path the README mentions anywhere, normalised."""
    return {normalise(p) for p in _PATH.findall(text())} - {"/api"}


def code_spans() -> list[str]:
    """Return every inline code span and every line of a fenced block (continuations joined)."""
    source = text()
    spans: list[str] = []
    for block in re.findall(r"^```[a-z]*\n(.*?)^```", source, flags=re.S | re.M):
        spans.extend(block.replace("\\\n", " ").splitlines())
    prose = re.sub(r"^```[a-z]*\n.*?^```", "", source, flags=re.S | re.M)
    spans.extend(re.findall(r"`([^`\n]+)`", prose))
    return spans


def manage_commands() -> list[tuple[str, list[str]]]:
    """Return each `manage.py <command> ...` the README shows, with the options it passes."""
    found = []
    for span in code_spans():
        for match in re.finditer(r"manage\.py (\w+)(.*)", span):
            options = re.findall(r"(?<![\w-])(--?[a-zA-Z][\w-]*)", match.group(2).split("#")[0])
            found.append((match.group(1), options))
    return found


def make_targets() -> set[str]:
    """Return each `make <target>` the README shows."""
    targets = set()
    for span in code_spans():
        targets |= set(re.findall(r"(?:^|\s|`)make ([a-z][\w-]*)", span))
    return targets


def curl_examples() -> list[list[str]]:
    """Return the fenced shell blocks that run curl, in README order, one command per item."""
    blocks = []
    for block in re.findall(r"^```(?:sh|bash)\n(.*?)^```", text(), flags=re.S | re.M):
        commands = []
        for line in block.replace("\\\n", " ").splitlines():
            command = re.sub(r"\s+#.*$", "", line).strip()
            if command.startswith("curl "):
                commands.append(" ".join(command.split()))
        if commands:
            blocks.append(commands)
    return blocks
