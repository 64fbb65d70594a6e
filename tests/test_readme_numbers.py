"""README's numbers and the page's time hints agree with the measurements they come from.

The tier table and the numbers around it come from `manage.py benchmark`, which writes
benchmarks/results/results.json (every row and the summary) and results.md (the tables); the
page's "~N s expected" before a server has timed its own conversions is the same benchmark's
p95; the budget headline is the budget table's sum. Re-running a command and pasting its tables
keeps these tests green; a number edited by hand, or left behind, fails them.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from tests import readme

RESULTS = readme.ROOT / "benchmarks" / "results"
APP_JS = readme.ROOT / "conversions" / "static" / "conversions" / "app.js"
TIERS = ("1", "2", "3", "auto")


@pytest.fixture(scope="module")
def results() -> dict:
    return json.loads((RESULTS / "results.json").read_text())


def _tier_table() -> dict[str, list[str]]:
    """Return README's tier table (`| tier | n | mean fidelity | ...`) by tier."""
    section = readme.text().split("### Tiers", 1)[1].split("### ", 1)[0]
    rows = [readme.cells(line)[1:-1] for line in section.splitlines() if line.startswith("| ")]
    header = rows[0]
    assert header[:3] == [" tier ", " n ", " mean fidelity "], header
    return {cells[0].strip(): [c.strip() for c in cells] for cells in rows[1:11]}


def test_readme_quotes_the_tables_of_the_last_benchmark_run():
    tables = [line for line in (RESULTS / "results.md").read_text().splitlines() if "|" in line]

    assert len(tables) > 20
    assert not [line for line in tables if line not in readme.text().splitlines()]


def test_tier_table_is_the_summary_of_the_stored_rows(results):
    table = _tier_table()
    rows = results["rows"]

    for tier in TIERS:
        ok = [r for r in rows if r["tier"] == tier and r["ok"]]
        times = [r["time_s"] for r in ok]
        summary = results["summary"][tier]
        assert len(ok) == summary["n"] == int(table[tier][1])
        assert table[tier][2] == f"{np.mean([r['fidelity'] for r in ok]):.4f}"
        assert table[tier][7] == f"{np.median(times):.2f} s"
        assert table[tier][8] == f"{np.percentile(times, 95):.2f} s"


def test_the_words_around_the_tier_table_quote_its_summary(results):
    section = readme.text().split("Against the last release of this table", 1)[1]
    bullets = re.findall(r"^- tier (\d)[^:]*:(.*?)(?=^- |^\n)", section, flags=re.S | re.M)
    assert {tier for tier, _ in bullets} == {"1", "2", "3"}

    for tier, words in bullets:
        summary = results["summary"][tier]
        now = re.findall(r"→ ([\d.]+) ?(%|×|s)", words)
        expected = [
            f"{100 * summary['error_removed']:.1f}",
            f"{summary['median_bytes_ratio']:.2f}",
            f"{summary['mean_bytes_ratio']:.2f}",
            f"{summary['p95_time_s']:.2f}",
        ]
        assert [value for value, _ in now] == expected[: len(now)], f"tier {tier}: {words}"


def test_page_expects_no_less_than_the_benchmarks_p95(results):
    # Before a server has timed three conversions of a tier, the page's progress says "~N s
    # expected" with N from TYPICAL_SECONDS: at least the benchmark's p95, at most a second more
    # (the upload and the answer travel too).
    source = APP_JS.read_text()
    typical = dict(
        re.findall(r"(\w+): ([\d.]+)", re.search(r"TYPICAL_SECONDS = \{(.*?)\}", source)[1])
    )

    for tier in TIERS:
        p95 = results["summary"][tier]["p95_time_s"]
        assert p95 <= float(typical[tier]) <= p95 + 1.0, (tier, typical[tier], p95)


def test_budget_headline_is_the_budget_tables_sum():
    section = readme.text().split("### Time budgets", 1)[1].split("### ", 1)[0]
    rows = [
        readme.cells(line) for line in section.splitlines() if re.match(r"\| \w+ \| [\d.]+ s", line)
    ]
    runs = int(re.search(r"of (\d+) conversions finished within their budget", section)[1])
    share = int(re.search(r"\*\*(\d+) % of \d+ conversions", section)[1])
    misses = int(re.search(r"The misses \((\d+) here", section)[1])

    counts = [int(r[3]) for r in rows]
    kept = sum(n * int(r[4].strip(" %")) / 100 for n, r in zip(counts, rows, strict=True))
    assert sum(counts) == runs
    assert round(100 * kept / runs) == share
    assert runs - round(kept) == misses
