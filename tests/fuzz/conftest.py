"""Fuzz-suite hook: print the cases run per op family at the end of a run.

Under pytest-xdist each worker counts its own cases and the summary is not shown; run
``pytest tests/fuzz -p no:xdist`` (or ``-n 0``) for the table in docs/fuzzing.md.
"""

from __future__ import annotations

from typing import Any

import pytest
from _fuzz_engine import COUNTS


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if not COUNTS:
        return
    families = sorted({f for f, _ in COUNTS})
    terminalreporter.section("fuzz cases per op family (compared / both raised / grads)")
    for f in families:
        ok, raised, grad = (COUNTS[(f, k)] for k in ("ok", "raised", "grad"))
        terminalreporter.write_line(f"{f:14s} {ok + raised:6d} {ok:6d} {raised:6d} {grad:6d}")
    tot = [sum(COUNTS[(f, k)] for f in families) for k in ("ok", "raised", "grad")]
    terminalreporter.write_line(
        f"{'total':14s} {tot[0] + tot[1]:6d} {tot[0]:6d} {tot[1]:6d} {tot[2]:6d}"
    )
