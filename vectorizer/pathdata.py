"""Shortest SVG path data at a given precision (what svgo's convertPathData does), pure Python.

`optimize_path` reads any path data (every command, absolute or relative, implicit repeats,
numbers such as `1e-3` or `.5.5`), rounds every absolute point to the grid of `precision`
decimals, so rounding never accumulates, then simplifies on that grid:

- a curve whose control points lie within `tolerance` of its chord becomes a line; a line that
  continues the previous one within `tolerance` merges into it; zero-length segments, empty
  subpaths and a last line back to the start before Z go;
- a horizontal or vertical line becomes h/v; a cubic whose first control point mirrors the
  previous one becomes s; a cubic that is a quadratic becomes q, or t when mirrored;

and writes each segment in whichever of its absolute and relative forms makes the whole string
shortest, with repeated command letters and needless separators left out (`l5-3.5.5`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_TOKEN = re.compile(rf"[A-Za-z]|{_NUMBER}")
_WHOLE_NUMBER = re.compile(_NUMBER)
_JUNK = re.compile(r"[^\s,]")
_ARITY = {"M": 2, "L": 2, "H": 1, "V": 1, "C": 6, "S": 4, "Q": 4, "T": 2, "A": 7, "Z": 0}
# A run of merged lines checks every point it dropped against its new chord; capping the run
# keeps that linear on long straight-ish stretches.
_MAX_RUN = 32
# Arc radii and rotation keep two more decimals than points: near a half circle the arc's
# bulge moves much more than its radius does.
_ARC_EXTRA_DECIMALS = 2

# A segment is a tuple: (letter, *numbers). parse_path returns absolute floats with letters
# M L C Q A Z; on the grid, points are integers in units of 10**-precision.
Segment = tuple
Spelling = tuple[str, str, bool]


class PathDataError(ValueError):
    """The path data does not follow the SVG path grammar."""


def optimize_path(
    d: str,
    *,
    precision: int = 0,
    tolerance: float | None = None,
    offset: tuple[float, float] = (0.0, 0.0),
) -> str:
    """Return the shortest path data drawing `d` moved by `offset`, rounded to `precision`.

    `tolerance` (user units, default half a grid step) is how far a simplification may move
    the outline from the rounded points.
    """
    if not 0 <= precision <= 12:
        raise ValueError(f"precision must be 0..12 decimals, not {precision}")
    scale = 10**precision
    tol = 0.5 if tolerance is None else max(0.0, tolerance * scale)
    grid = _on_grid(parse_path(d), scale, offset)
    return _write(_simplify(grid, tol), precision, tol)


def parse_path(d: str) -> list[Segment]:
    """Return path data as absolute segments M, L, C, Q, A and Z (H, V, S, T spelt out).

    Raise PathDataError on anything the SVG path grammar does not allow.
    """
    tokens = _TOKEN.findall(d)
    junk = _JUNK.search(_TOKEN.sub("", d))
    if junk:
        raise PathDataError(f"unexpected {junk.group(0)!r} in path data")
    if not tokens:
        return []
    if tokens[0] not in ("M", "m"):
        raise PathDataError("path data must start with M or m")
    segments: list[Segment] = []
    x = y = start_x = start_y = 0.0
    cubic: tuple[float, float] | None = None  # last cubic's second control point, for S
    quad: tuple[float, float] | None = None  # last quadratic's control point, for T
    count = len(tokens)
    i = 0
    while i < count:
        letter = tokens[i]
        verb = letter.upper()
        arity = _ARITY.get(verb)
        if arity is None:
            raise PathDataError(f"expected a command, found {letter!r}")
        i += 1
        relative = letter != verb
        if verb == "Z":
            segments.append(("Z",))
            x, y = start_x, start_y
            cubic = quad = None
            continue
        if segments and segments[-1][0] == "Z" and verb != "M":
            segments.append(("M", x, y))  # a command after Z starts a subpath where Z ended
        while True:
            if verb == "A":
                values, i = _arc_values(tokens, i)
            else:
                chunk = tokens[i : i + arity]
                if len(chunk) < arity:
                    raise PathDataError(f"{letter} needs {arity} numbers")
                try:
                    values = [float(t) for t in chunk]
                except ValueError:
                    raise PathDataError(f"{letter} needs {arity} numbers") from None
                i += arity
            dx, dy = (x, y) if relative else (0.0, 0.0)
            next_cubic = next_quad = None
            if verb == "M":
                x, y = values[0] + dx, values[1] + dy
                start_x, start_y = x, y
                segments.append(("M", x, y))
                verb = "L"  # further pairs are implicit line-tos
            elif verb == "L":
                x, y = values[0] + dx, values[1] + dy
                segments.append(("L", x, y))
            elif verb == "H":
                x = values[0] + dx
                segments.append(("L", x, y))
            elif verb == "V":
                y = values[0] + dy
                segments.append(("L", x, y))
            elif verb in ("C", "S"):
                if verb == "C":
                    x1, y1 = values[0] + dx, values[1] + dy
                    values = values[2:]
                else:
                    x1, y1 = (2 * x - cubic[0], 2 * y - cubic[1]) if cubic else (x, y)
                x2, y2 = values[0] + dx, values[1] + dy
                x, y = values[2] + dx, values[3] + dy
                segments.append(("C", x1, y1, x2, y2, x, y))
                next_cubic = (x2, y2)
            elif verb in ("Q", "T"):
                if verb == "Q":
                    x1, y1 = values[0] + dx, values[1] + dy
                    values = values[2:]
                else:
                    x1, y1 = (2 * x - quad[0], 2 * y - quad[1]) if quad else (x, y)
                x, y = values[0] + dx, values[1] + dy
                segments.append(("Q", x1, y1, x, y))
                next_quad = (x1, y1)
            else:  # A
                rx, ry, rotation, large, sweep = values[:5]
                x, y = values[5] + dx, values[6] + dy
                segments.append(("A", abs(rx), abs(ry), rotation, large, sweep, x, y))
            cubic, quad = next_cubic, next_quad
            if i >= count or tokens[i].isalpha():
                break
    return segments


def _arc_values(tokens: list[str], i: int) -> tuple[list[float], int]:
    """Return an arc's seven numbers from tokens[i:], splitting flags glued to what follows."""
    values: list[float] = []
    for k in range(7):
        if i >= len(tokens) or tokens[i].isalpha():
            raise PathDataError("A needs 7 numbers")
        token = tokens[i]
        if k in (3, 4):
            if token[0] not in "01":
                raise PathDataError(f"an arc flag is 0 or 1, not {token!r}")
            values.append(float(token[0]))
            rest = token[1:]
            if not rest:
                i += 1
            elif _WHOLE_NUMBER.fullmatch(rest):
                tokens[i] = rest  # "011.5" is flag 0, flag 1, then 1.5
            else:
                raise PathDataError(f"an arc flag is 0 or 1, not {token!r}")
        else:
            values.append(float(token))
            i += 1
    return values, i


def _on_grid(segments: list[Segment], scale: int, offset: tuple[float, float]) -> list[Segment]:
    """Return segments moved by `offset` with every point rounded to integer grid units."""
    ox, oy = offset
    out: list[Segment] = []
    try:
        for seg in segments:
            verb = seg[0]
            if verb == "A":
                rx, ry, rotation, large, sweep, x, y = seg[1:]
                out.append(
                    (
                        "A",
                        rx * scale,
                        ry * scale,
                        rotation,
                        int(large),
                        int(sweep),
                        round((x + ox) * scale),
                        round((y + oy) * scale),
                    )
                )
            elif verb == "Z":
                out.append(seg)
            else:
                coords = seg[1:]
                out.append(
                    (
                        verb,
                        *(
                            round((c + (ox if k % 2 == 0 else oy)) * scale)
                            for k, c in enumerate(coords)
                        ),
                    )
                )
    except (OverflowError, ValueError):  # round() of inf or nan
        raise PathDataError("path data holds a number too large to draw") from None
    return out


def _near_segment(px: int, py: int, ax: int, ay: int, bx: int, by: int, tol2: float) -> bool:
    """Return True when point P lies within sqrt(tol2) of the segment AB."""
    vx, vy = bx - ax, by - ay
    wx, wy = px - ax, py - ay
    dot = vx * wx + vy * wy
    length2 = vx * vx + vy * vy
    if dot <= 0 or length2 == 0:
        return wx * wx + wy * wy <= tol2
    if dot >= length2:
        ux, uy = px - bx, py - by
        return ux * ux + uy * uy <= tol2
    cross = vx * wy - vy * wx
    return cross * cross <= tol2 * length2


def _simplify(segments: list[Segment], tol: float) -> list[Segment]:
    """Return grid segments with straight curves as lines, lines merged, empty parts dropped."""
    tol2 = tol * tol
    out: list[Segment] = []
    x = y = start_x = start_y = 0
    subpath = -1  # index in `out` of the current subpath's M
    run_x = run_y = 0  # where the last line of `out` starts
    run: list[tuple[int, int]] = []  # points merged away inside that line

    def line(ex: int, ey: int) -> None:
        nonlocal x, y, run_x, run_y
        if ex == x and ey == y:
            return
        if (
            out[-1][0] == "L"
            and len(run) < _MAX_RUN
            and _near_segment(x, y, run_x, run_y, ex, ey, tol2)
            and all(_near_segment(px, py, run_x, run_y, ex, ey, tol2) for px, py in run)
        ):
            run.append((x, y))
            out[-1] = ("L", ex, ey)
        else:
            run_x, run_y = x, y
            run.clear()
            out.append(("L", ex, ey))
        x, y = ex, ey

    def end_subpath() -> None:
        if subpath >= 0 and len(out) == subpath + 1:
            del out[subpath]  # a lone M draws nothing

    for seg in segments:
        verb = seg[0]
        if verb == "M":
            end_subpath()
            subpath = len(out)
            x, y = start_x, start_y = seg[1], seg[2]
            out.append(seg)
        elif verb == "L":
            line(seg[1], seg[2])
        elif verb == "C":
            _, x1, y1, x2, y2, ex, ey = seg
            if _near_segment(x1, y1, x, y, ex, ey, tol2) and _near_segment(
                x2, y2, x, y, ex, ey, tol2
            ):
                line(ex, ey)
            else:
                out.append(_as_quadratic(x, y, seg, tol) or seg)
                x, y = ex, ey
        elif verb == "Q":
            _, x1, y1, ex, ey = seg
            if _near_segment(x1, y1, x, y, ex, ey, tol2):
                line(ex, ey)
            else:
                out.append(seg)
                x, y = ex, ey
        elif verb == "A":
            ex, ey = seg[6], seg[7]
            if ex == x and ey == y:
                continue  # the spec omits an arc that ends where it starts
            if round(seg[1] * 100) == 0 or round(seg[2] * 100) == 0:
                line(ex, ey)  # a zero radius draws a straight line
            else:
                out.append(seg)
                x, y = ex, ey
        else:  # Z
            if subpath < 0 or out[-1][0] == "Z":
                continue  # nothing open to close
            line(start_x, start_y)
            if out[-1][0] == "L" and out[-1][1] == start_x and out[-1][2] == start_y:
                out.pop()  # Z draws that line itself
            if len(out) == subpath + 1:
                del out[subpath]
                subpath = -1
            else:
                out.append(seg)
            x, y = start_x, start_y
    end_subpath()
    return out


def _as_quadratic(x0: int, y0: int, seg: Segment, tol: float) -> Segment | None:
    """Return the cubic `seg` (starting at x0, y0) as a quadratic if one fits within `tol`."""
    _, x1, y1, x2, y2, x3, y3 = seg
    # A quadratic with control Q raises to a cubic with controls P0 + 2/3 (Q - P0) and
    # P3 + 2/3 (Q - P3), so both (3 P1 - P0) / 2 and (3 P2 - P3) / 2 estimate Q.
    qx = round((3 * x1 - x0 + 3 * x2 - x3) / 4)
    qy = round((3 * y1 - y0 + 3 * y2 - y3) / 4)
    d1 = math.hypot(x1 - x0 - 2 * (qx - x0) / 3, y1 - y0 - 2 * (qy - y0) / 3)
    d2 = math.hypot(x2 - x3 - 2 * (qx - x3) / 3, y2 - y3 - 2 * (qy - y3) / 3)
    # Control points off by d1 and d2 move the curve by at most 3t(1-t)·max(d1, d2) <= 3/4·max.
    if 0.75 * max(d1, d2) <= tol:
        return ("Q", qx, qy, x3, y3)
    return None


def _formatter(precision: int) -> Callable[[int], str]:
    """Return a function writing integer grid units as the shortest decimal text."""
    if precision == 0:
        return str
    scale = 10**precision

    def number(value: int) -> str:
        sign = ""
        if value < 0:
            sign, value = "-", -value
        whole, fraction = divmod(value, scale)
        if not fraction:
            return f"{sign}{whole}"
        digits = str(fraction).rjust(precision, "0").rstrip("0")
        return f"{sign}{whole}.{digits}" if whole else f"{sign}.{digits}"

    return number


def _join(texts: list[str]) -> tuple[str, bool]:
    """Return numbers joined with separators only where needed, and if the last has a dot."""
    out = texts[0]
    previous = out
    for text in texts[1:]:
        first = text[0]
        if first == "-" or (first == "." and "." in previous):
            out += text
        else:
            out += " " + text
        previous = text
    return out, "." in previous


def _write(segments: list[Segment], precision: int, tol: float) -> str:
    """Return grid segments as path text, each in its absolute or relative form, shortest."""
    number = _formatter(precision)
    arc_number = _formatter(precision + _ARC_EXTRA_DECIMALS)
    angle_number = _formatter(_ARC_EXTRA_DECIMALS)
    arc_scale = 10**_ARC_EXTRA_DECIMALS
    tol2 = tol * tol
    # Each segment offers one or two spellings: (letter, numbers, whether the last has a dot).
    choices: list[tuple[Spelling, ...]] = []
    x = y = start_x = start_y = 0
    cubic: tuple[int, int] | None = None
    quad: tuple[int, int] | None = None
    for seg in segments:
        verb = seg[0]
        next_cubic = next_quad = None
        if verb == "Z":
            choices.append((("z", "", False),))
            x, y = start_x, start_y
        elif verb == "A":
            rx, ry, rotation, large, sweep, ex, ey = seg[1:]
            head = [
                arc_number(round(rx * arc_scale)),
                arc_number(round(ry * arc_scale)),
                angle_number(round(rotation * arc_scale)),
                str(large),
                str(sweep),
            ]
            absolute = _join([*head, number(ex), number(ey)])
            relative = _join([*head, number(ex - x), number(ey - y)])
            choices.append((("A", *absolute), ("a", *relative)))
            x, y = ex, ey
        else:
            points = seg[1:]
            ex, ey = points[-2], points[-1]
            if verb == "M":
                letter = "M"
                start_x, start_y = ex, ey
            elif verb == "L":
                if ey == y:
                    letter, points = "H", (ex,)
                elif ex == x:
                    letter, points = "V", (ey,)
                else:
                    letter = "L"
            elif verb == "C":
                mx, my = (2 * x - cubic[0], 2 * y - cubic[1]) if cubic else (x, y)
                dx, dy = points[0] - mx, points[1] - my
                if dx * dx + dy * dy <= tol2:
                    letter, points = "S", points[2:]
                else:
                    letter = "C"
                next_cubic = (points[-4], points[-3])
            else:  # Q
                mx, my = (2 * x - quad[0], 2 * y - quad[1]) if quad else (x, y)
                dx, dy = points[0] - mx, points[1] - my
                if dx * dx + dy * dy <= tol2:
                    letter, points = "T", points[2:]
                    next_quad = (mx, my)
                else:
                    letter = "Q"
                    next_quad = (points[0], points[1])
            if letter == "H":
                relative = [ex - x]
            elif letter == "V":
                relative = [ey - y]
            else:
                relative = [p - (x if k % 2 == 0 else y) for k, p in enumerate(points)]
            choices.append(
                (
                    (letter, *_join([number(p) for p in points])),
                    (letter.lower(), *_join([number(p) for p in relative])),
                )
            )
            x, y = ex, ey
        cubic, quad = next_cubic, next_quad
    return _shortest(choices)


def _shortest(choices: list[tuple[Spelling, ...]]) -> str:
    """Return the segments spelt with one choice each, with the fewest characters in all.

    Whether a letter may be left out depends on the previous segment's letter, and whether a
    separator is needed on its last number, so the choice is made over the whole path.
    """
    if not choices:
        return ""
    # costs[k]: the shortest text so far that ends with choice k of the current segment.
    costs = [1 + len(text) for _, text, _ in choices[0]]
    back: list[list[int]] = []
    previous = choices[0]
    for options in choices[1:]:
        current_costs = []
        parents = []
        for option in options:
            best, parent = math.inf, 0
            for k, before in enumerate(previous):
                cost = costs[k] + _added_length(before, option)
                if cost < best:
                    best, parent = cost, k
            current_costs.append(best)
            parents.append(parent)
        costs, previous = current_costs, options
        back.append(parents)
    pick = min(range(len(costs)), key=lambda k: (costs[k], -k))  # a tie goes to relative
    picks = [pick]
    for parents in reversed(back):
        pick = parents[pick]
        picks.append(pick)
    picks.reverse()
    parts = []
    before: Spelling = ("", "", False)
    for options, pick in zip(choices, picks, strict=True):
        option = options[pick]
        letter, text, _ = option
        if _omits_letter(before[0], letter):
            parts.append(text if _glues(before, text) else " " + text)
        else:
            parts.append(letter + text)
        before = option
    return "".join(parts)


def _omits_letter(prev_letter: str, letter: str) -> bool:
    """Return True when `letter` is implied by the previous one (numbers repeat a command)."""
    implied = {"M": "L", "m": "l"}.get(prev_letter, prev_letter)
    return letter == implied and letter not in ("z", "")


def _glues(before: Spelling, text: str) -> bool:
    """Return True when `text` may follow the spelling `before` without a separator."""
    first = text[0]
    return first == "-" or (first == "." and before[2])


def _added_length(before: Spelling, option: Spelling) -> int:
    """Return the characters `option` adds after `before`."""
    letter, text, _ = option
    if _omits_letter(before[0], letter):
        return len(text) + (0 if _glues(before, text) else 1)
    return 1 + len(text)
