"""The batch benchmark runs its batches inline, as the batch tests do (one fixture, theirs)."""

from tests.batches.conftest import inline_batches  # noqa: F401
