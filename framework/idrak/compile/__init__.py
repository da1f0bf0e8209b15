"""Compilation: :func:`idrak.jit` traces a function once and replays its fused schedule."""

from __future__ import annotations

from idrak.compile.tracing import JitError, Jitted, jit

__all__ = ["JitError", "Jitted", "jit"]
