"""The newcomer run starts `make run` from a fresh clone: it runs when asked, `-m newcomer`.

.ci/run asks; a plain `make test` skips it with the reason (it is the same product the rest of
the suite tests, started the slow way a newcomer starts it).
"""

from __future__ import annotations

from pathlib import Path

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    expression = config.getoption("markexpr") or ""
    asked = "newcomer" in expression and "not newcomer" not in expression
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.newcomer)
            if not asked:
                item.add_marker(pytest.mark.skip(reason="the newcomer run runs with -m newcomer"))
