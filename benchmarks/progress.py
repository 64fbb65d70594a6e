"""How a benchmark reports progress: a command passes a tqdm wrapper, a test passes nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

T = TypeVar("T")
Progress = Callable[[Iterable[T]], Iterable[T]]


def quiet(items: Iterable[T]) -> Iterable[T]:
    """Return the items as they are: no progress shown."""
    return items
