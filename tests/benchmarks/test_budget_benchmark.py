"""The budget benchmark's bookkeeping: a budget is kept only by a success within it."""

from __future__ import annotations

from benchmarks.budgets import BudgetRow, markdown


def test_a_budget_is_kept_only_by_a_success_within_it():
    assert BudgetRow("1", 0.5, 0.49, 1, True).kept
    assert not BudgetRow("1", 0.5, 0.51, 1, True).kept
    assert not BudgetRow("1", 0.5, 0.1, 1, False).kept


def test_markdown_reports_the_share_kept_per_tier_and_budget():
    rows = [
        BudgetRow("2", 1.0, 0.8, 2, True),
        BudgetRow("2", 1.0, 1.2, 2, True, rescued=True, stages=(("features", 150.0),)),
        BudgetRow("3", 2.0, 1.9, 3, True),
    ]

    table = markdown(rows)

    assert "| 2 | 1 s | 2 | 50% | 1.00 | 1.18 | 1.20 | 1 |" in table
    assert "| 3 | 2 s | 1 | 100% | 1.90 | 1.90 | 1.90 | 0 |" in table
    assert "2/3 (67%) kept" in table
    # Each budget missed says where its time went.
    assert "- tier 2, 1 s: 1.20 s (rescued); features 150" in table


def test_a_refused_conversion_is_a_budget_not_kept():
    rows = [BudgetRow("1", 0.5, float("nan"), None, False), BudgetRow("1", 0.5, 0.3, 1, True)]

    assert "| 1 | 0.5 s | 2 | 50% | 0.30 |" in markdown(rows)
