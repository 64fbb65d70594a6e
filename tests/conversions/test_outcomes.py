"""What an AI conversion's answer says about its result: every degradation, one prediction."""

from __future__ import annotations

from aimodels.analysis import Analysis
from conversions.outcomes import AIOutcome
from vectorizer.candidates import Candidate
from vectorizer.routing import Route
from vectorizer.tiers import Attempt, TierResult


def attempt(svg_bytes: int) -> Attempt:
    return Attempt(
        candidate=Candidate(),
        svg="<svg/>",
        ssim=0.99,
        proxy=0.99,
        svg_bytes=svg_bytes,
        path_count=3,
        timings={},
    )


def outcome(result: TierResult) -> AIOutcome:
    return AIOutcome(Analysis(), Route(3, "tier 3 requested"), result)


def test_a_full_search_that_met_max_bytes_says_nothing():
    best = attempt(900)
    result = TierResult(tier=3, attempts=[attempt(1500), best], best=best)

    assert outcome(result).degradations(max_bytes=1000) == []
    assert outcome(result).routing_json(1000)["degraded"] == []


def test_every_degradation_is_named_once_in_order():
    best = attempt(6522)
    result = TierResult(
        tier=3,
        attempts=[attempt(7000), best],
        best=best,
        rescued="every chosen trace was stopped by the budget: the deadline came",
        shortfalls=["tier 3's search was cut short by the budget", "tier 3 kept tier 2's result"],
    )

    said = outcome(result).degradations(max_bytes=1000)

    assert len(said) == 4
    assert said[0].startswith("rescue trace returned: every chosen trace was stopped")
    assert said[1] == (
        "max_bytes not met: 1,000 B asked, the SVG has 6,522 B; no trace fitted, so this is the "
        "best one"
    )
    assert said[2:] == result.shortfalls
    routing = outcome(result).routing_json(1000)
    assert routing["degraded"] == said
    assert routing["rescued"] == result.rescued


def test_max_bytes_names_a_smaller_trace_the_search_did_not_keep():
    best = attempt(6522)  # e.g. the smaller one was refined past the limit, or failed worth
    result = TierResult(tier=2, attempts=[attempt(5871), best], best=best)

    said = outcome(result).degradations(max_bytes=1000)

    assert said == [
        "max_bytes not met: 1,000 B asked, the SVG has 6,522 B (the smallest trace had 5,871 B); "
        "no trace fitted, so this is the best one"
    ]


def test_the_reason_quotes_the_prediction_of_the_svg_returned():
    route = Route(
        2, "tier 2 is the cheapest predicted to reach 0.9 in 1.2 s (predicted 0.999)", quoted=0.999
    )

    assert route.settled(0.999) == route
    assert route.settled(None) == route
    settled = route.settled(0.993)
    assert settled.reason == (
        "tier 2 is the cheapest predicted to reach 0.9 in 1.2 s "
        "(predicted 0.993 for the SVG returned)"
    )
    assert settled.tier == 2
    assert settled.quoted == 0.993
    assert Route(3, "tier 3 requested").settled(0.5).reason == "tier 3 requested"
