"""The files a batch did not take: each with its reason, kept small however many there are."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, TypedDict


@dataclass(frozen=True)
class Refusal:
    name: str
    reason: str
    code: str  # the kind of reason, for counting: "too_many", "too_large", "quota" ...

    def as_dict(self) -> RefusalDict:
        return {"name": self.name, "reason": self.reason, "code": self.code}


class RefusalDict(TypedDict):
    name: str
    reason: str
    code: str


class RefusalsAnswer(TypedDict):
    """`Refusals.answer()`: the API's fields for the files not taken."""

    refused: list[RefusalDict]
    refused_total: int
    refused_by_reason: dict[str, int]


class StoredRefusals(TypedDict):
    """`Refusals.as_dict()`: the refusals as stored on the batch."""

    total: int
    by_reason: dict[str, int]
    shown: list[RefusalDict]


# How many refused files a batch keeps by name; beyond them only a count by reason is kept.
REFUSALS_SHOWN = 50


@dataclass
class Refusals:
    """The files not taken: a count by reason and the first REFUSALS_SHOWN by name.

    A request may name any number of files (a zip directory of 150,000 entries); what is
    stored on the batch and answered stays this small. Iterating gives the ones kept by name,
    `len` counts them all.
    """

    shown: list[Refusal] = field(default_factory=list)
    by_reason: dict[str, int] = field(default_factory=dict)

    def add(self, refusal: Refusal) -> None:
        """Count a refused file (and keep it by name while fewer than REFUSALS_SHOWN are)."""
        if len(self.shown) < REFUSALS_SHOWN:
            self.shown.append(refusal)
        self.by_reason[refusal.code] = self.by_reason.get(refusal.code, 0) + 1

    def __iter__(self) -> Iterator[Refusal]:
        return iter(self.shown)

    def __len__(self) -> int:
        return sum(self.by_reason.values())

    def more(self) -> str | None:
        """Return a line for the refused files not kept by name, or None if there are none."""
        hidden = len(self) - len(self.shown)
        if hidden <= 0:
            return None
        reasons = ", ".join(f"{code} {n}" for code, n in sorted(self.by_reason.items()))
        return f"{hidden} more refused (all {len(self)} by reason: {reasons})"

    def lines(self) -> list[str]:
        """Return "name: reason" for each file kept by name, then the count of the others."""
        more = self.more()
        return [f"{r.name}: {r.reason}" for r in self.shown] + ([more] if more else [])

    def answer(self) -> RefusalsAnswer:
        """Return the API's fields for them: the first by name, the total, a count by reason."""
        return {
            "refused": [r.as_dict() for r in self.shown],
            "refused_total": len(self),
            "refused_by_reason": self.by_reason,
        }

    def as_dict(self) -> StoredRefusals:
        """Return the refusals as stored on the batch."""
        return {
            "total": len(self),
            "by_reason": self.by_reason,
            "shown": [r.as_dict() for r in self.shown],
        }

    @classmethod
    def from_stored(cls, stored: Any) -> Refusals:
        """Return a batch's stored refusals (a list of every refusal before summaries)."""
        if isinstance(stored, dict):
            shown = [Refusal(**r) for r in stored.get("shown", [])]
            return cls(shown, dict(stored.get("by_reason", {})))
        refusals = cls()
        for r in stored or []:
            refusals.add(Refusal(r["name"], r["reason"], r.get("code", "refused")))
        return refusals
