"""State of one conformance run: the backend under test, its checks, their outcomes.

Every test of the suite is parametrized with one :class:`Check`. A check has a key,
``layer:op:dtype:kind`` (``primitive:MAX:float32:values``), and the patterns of the keys it
depends on. When a check fails (or is expected to fail), every later check with a dependency
pattern matching its key is skipped with that root cause named, so one bug shows as one failure.
"""

from __future__ import annotations

import fnmatch
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

from idrak.contract.backend import Backend
from idrak.contract.dtypes import ALL_DTYPES, DType
from idrak.contract.ops import Capabilities, Op
from idrak.errors import IdrakError
from idrak.runtime import plugins
from idrak.testing.tolerances import Expectations, Tolerance, load_expectations, tolerance

__all__ = ["LAYERS", "Check", "Outcome", "Session", "core_deps", "parametrize"]

#: the layers, in the order they run
LAYERS = (
    "runtime",
    "primitive",
    "determinism",
    "capabilities",
    "optional",
    "autograd",
    "model",
    "transfer",
    "random",
)
#: skip reasons of checks blocked by a failed dependency start with this
BLOCKED = "blocked by "
NO_BACKEND = (
    "the idrak conformance suite runs only when asked: pass --idrak-backend=NAME "
    "(pytest --pyargs idrak.testing --idrak-backend=numpy), or run `idrak conformance "
    "NAME`"
)


@dataclass(eq=False)
class Check:
    """One check of the suite: the parameter of every conformance test.

    Attributes:
        layer: one of :data:`LAYERS`. op: the op's name (or a runtime method, a model name).
        dtype: the dtype's name, ``"src->dst"`` for CAST, ``"-"`` when none applies.
        kind: what is checked (``values``, ``views``, ``property``, ``grad``...).
        deps: ``fnmatch`` patterns of the keys this check depends on.
        data: check-specific parameters.
        repro: a Python snippet reproducing the last backend call the check made (set by it).
    """

    layer: str
    op: str
    dtype: str
    kind: str
    deps: tuple[str, ...] = ()
    data: dict[str, Any] = field(default_factory=dict)
    session: Session | None = field(default=None, repr=False)
    repro: str | None = field(default=None, repr=False)

    @property
    def key(self) -> str:
        """``layer:op:dtype:kind``, unique within a run."""
        return f"{self.layer}:{self.op}:{self.dtype}:{self.kind}"

    @property
    def id(self) -> str:
        """The pytest parameter id."""
        return f"{self.op}-{self.dtype}-{self.kind}"

    @property
    def s(self) -> Session:
        """The session this check belongs to."""
        assert self.session is not None
        return self.session


@dataclass
class Outcome:
    """What happened to one check."""

    check: Check
    nodeid: str
    outcome: str  # passed, failed, xfailed, xpassed, skipped
    message: str = ""
    repro: str | None = None
    duration: float = 0.0
    culprit: str | None = None  # the primitive bisection named (autograd and model layers)

    @property
    def op(self) -> str:
        """The op this outcome blames: the bisected culprit, else the check's own op."""
        return self.culprit or self.check.op

    def as_dict(self) -> dict[str, Any]:
        """Plain data for the JSON report."""
        c = self.check
        return {
            "key": c.key,
            "nodeid": self.nodeid,
            "layer": c.layer,
            "op": c.op,
            "dtype": c.dtype,
            "kind": c.kind,
            "outcome": self.outcome,
            "culprit": self.culprit,
            "message": self.message,
            "repro": self.repro,
            "duration_s": round(self.duration, 4),
        }


class Session:
    """The backend under test and the record of a run.

    Raises:
        pytest.UsageError: the backend cannot be loaded, or the xfails file is malformed.
    """

    def __init__(self, backend: str, xfails: str | None = None, report: str | None = None) -> None:
        self.name, self.report_path = backend, report
        try:
            self.backend: Backend = plugins.get_backend(backend)
            self.caps: Capabilities = self.backend.capabilities()
        except IdrakError as e:
            raise pytest.UsageError(f"--idrak-backend={backend}: {e}") from None
        except Exception as e:
            raise pytest.UsageError(
                f"--idrak-backend={backend}: the backend failed to start: {type(e).__name__}: {e}"
            ) from None
        try:
            self.expect: Expectations = load_expectations(
                xfails, getattr(self.backend, "relaxations", None)
            )
        except ValueError as e:
            raise pytest.UsageError(str(e)) from None
        self.outcomes: dict[str, Outcome] = {}
        # key -> (root key, what happened to it), for failed, xfailed and blocked checks
        self.bad: dict[str, tuple[str, str]] = {}
        self.notes: list[str] = []
        self.other_skips: list[str] = []  # skipped tests that carry no check, with the reason
        self.cache: dict[str, Any] = {}  # objects layers share (reference backend, devices)
        self.started = time.time()
        self.finished: float | None = None

    # capabilities ------------------------------------------------------------------------------
    @property
    def dtypes(self) -> list[DType]:
        """The declared dtypes, in idrak's order."""
        return [d for d in ALL_DTYPES if d in self.caps.dtypes]

    def supports(self, op: Op, dtype: DType) -> bool:
        """Whether the backend declares ``op`` at ``dtype``."""
        return self.caps.supports(op, dtype)

    def tol(self, op: Op, dtype: DType | str, decomposed: bool = False) -> Tolerance:
        """The tolerance of ``op`` at ``dtype`` with this backend's relaxations."""
        return tolerance(op, dtype, self.expect, decomposed)

    def reference_backend(self) -> Backend:
        """The NumPy reference backend (shipped with idrak; needed by the later layers).

        Raises:
            AssertionError: it is not available (e.g. excluded by ``IDRAK_PLUGINS``).
        """
        if "numpy" not in self.cache:
            try:
                self.cache["numpy"] = plugins.get_backend("numpy")
            except IdrakError as e:
                raise AssertionError(
                    f"this check compares with idrak's NumPy reference backend, "
                    f"which is not available: {e}"
                ) from None
        ref: Backend = self.cache["numpy"]
        return ref

    # outcomes ------------------------------------------------------------------------------------
    def blocked_by(self, deps: Iterable[str]) -> str | None:
        """A skip reason naming the first failed check matching a dependency, else ``None``."""
        if not self.bad:
            return None
        for pattern in deps:
            for key, (root, cause) in self.bad.items():
                if fnmatch.fnmatchcase(key, pattern):
                    return f"{BLOCKED}{root} ({cause})"
        return None

    def record(self, out: Outcome) -> None:
        """Store an outcome; failures, expected failures and blocked skips block dependents."""
        self.outcomes[out.nodeid] = out
        key = out.check.key
        if out.outcome == "failed":
            self.bad[key] = (key, "failed")
        elif out.outcome == "xfailed":
            self.bad[key] = (key, "expected to fail")
        elif out.outcome == "skipped" and out.message.startswith(BLOCKED):
            root, _, cause = out.message[len(BLOCKED) :].partition(" (")
            self.bad[key] = (root, cause.rstrip(")"))


def core_deps(dtypes: Iterable[DType | str], *, optional: bool = True) -> tuple[str, ...]:
    """Dependency patterns on every runtime, primitive (and optional) check of ``dtypes``,
    including the CASTs between them. Used by layers that run whole Tensor programs."""
    names = sorted({d if isinstance(d, str) else d.name for d in dtypes})
    out = ["optional:FUSED:*"] if optional else []  # fused kernels run whole Tensor programs
    for a in names:
        out += [f"runtime:*:{a}:*", f"primitive:*:{a}:*"]
        if optional:
            out.append(f"optional:*:{a}:*")
        out += [f"primitive:CAST:{a}->{b}:*" for b in names if b != a]
    return tuple(out)


def parametrize(
    metafunc: Any,
    make: Callable[[Session], list[Check]],
    empty: str = "nothing to check on this backend",
) -> None:
    """``pytest_generate_tests`` of every suite module: one test per check ``make`` returns.

    Without ``--idrak-backend`` the test gets a single parameter that skips with the reason;
    when ``make`` returns no check, one that skips with ``empty``.
    """
    from idrak.testing.plugin import session_key

    if "check" not in metafunc.fixturenames:
        return
    session = metafunc.config.stash.get(session_key(), None)
    if session is None:
        metafunc.parametrize(
            "check",
            [pytest.param(None, marks=pytest.mark.skip(reason=NO_BACKEND))],
            ids=["no-backend"],
        )
        return
    checks = make(session)
    seen: set[str] = set()
    for c in checks:
        c.session = session
        if c.key in seen:
            raise AssertionError(f"idrak.testing: duplicate check {c.key}")
        seen.add(c.key)
    params = [pytest.param(c, id=c.id) for c in checks]
    if not params:  # e.g. RANDOM_BITS not declared: say so rather than vanish
        params = [
            pytest.param(
                None, marks=pytest.mark.skip(reason=f"{session.name}: {empty}"), id="nothing"
            )
        ]
    metafunc.parametrize("check", params)


def rng_for(check: Check, salt: str = "") -> np.random.Generator:
    """A generator seeded from the check's key: the same inputs in every run and process."""
    import zlib

    return np.random.default_rng(zlib.crc32(f"{check.key}/{salt}".encode()))
