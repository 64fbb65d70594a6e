"""The design benchmark: a row per logo, base and option, and a table against stacked."""

from __future__ import annotations

from benchmarks import design
from tests.conftest import DATA
from vectorizer.candidates import Candidate
from vectorizer.dataset import LogoRecord


def test_design_benchmark_measures_every_option_against_the_stacked_svg(tmp_path):
    record = LogoRecord(
        id="tw-1f6f3",
        path=DATA / "tw-1f6f3.png",
        svg_path=DATA / "tw-1f6f3.svg",
        source="twemoji",
        license="CC-BY-4.0",
        category="complex",
    )

    rows = design.run([record], bases={"vtracer": Candidate(long_side=256)})

    assert [r.option for r in rows] == list(design.OPTIONS)
    by_option = {r.option: r for r in rows}
    assert by_option["stacked"].colors > 4
    for count in (2, 4, 8):
        assert by_option[f"max_colors {count}"].colors <= count
    assert by_option["max_colors 2"].fidelity < by_option["stacked"].fidelity
    assert 0.5 < by_option["cutouts"].fidelity <= 1.0
    table = design.write(rows, tmp_path)
    assert "| vtracer | cutouts | 1 |" in table
    assert (tmp_path / "rows.json").exists()
