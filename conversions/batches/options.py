"""How every item of a batch is converted, as the request asked and the batch stores it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from conversions.models import Batch, Conversion
from vectorizer.routing import DEFAULT_TARGET_QUALITY
from vectorizer.tracing import TraceParams


@dataclass(frozen=True)
class BatchOptions:
    """How every item of a batch is converted: AI options, or explicit vtracer parameters."""

    kind: str = Conversion.Kind.AI
    tier: int | str = "auto"
    target_quality: float = DEFAULT_TARGET_QUALITY
    time_budget: float | None = None
    max_bytes: int | None = None
    params: dict[str, Any] = field(default_factory=dict)  # legacy only

    def as_dict(self) -> dict[str, Any]:
        """Return the options as stored on the batch."""
        if self.kind == Conversion.Kind.LEGACY:
            return {"params": TraceParams.from_dict(self.params).as_dict()}
        values = asdict(self)
        del values["kind"], values["params"]
        return values

    @classmethod
    def from_batch(cls, batch: Batch) -> BatchOptions:
        """Return the options a stored batch was created with."""
        if batch.kind == Conversion.Kind.LEGACY:
            return cls(kind=Conversion.Kind.LEGACY, params=batch.options.get("params", {}))
        return cls(kind=Conversion.Kind.AI, **batch.options)
