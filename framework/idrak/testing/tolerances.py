"""Tolerances of the conformance suite, per (op, dtype), and the bounds a backend may relax them to.

idrak owns these numbers. A floating result ``got`` passes against the reference ``want`` when::

    |got - want| <= atol + rtol * scale

where ``scale`` is ``|want|`` for elementwise ops and the sum of the absolute values of the terms
for accumulating ops (``SUM``, ``MATMUL``, ``CONV2D``, ``SCATTER_ADD``), so a reduction is judged
by the error its summation order can cause and not by cancellation in its result. NaN must match
NaN, an infinity must match exactly, and integer and bool results must match exactly.

Tolerances are counted in units in the last place (ulp) of the dtype: ``rtol = ulps * eps`` and
``atol = ulps * smallest_subnormal``, with ``eps`` = 2**-10 (float16), 2**-7 (bfloat16), 2**-23
(float32), 2**-52 (float64). :data:`ULPS` gives the count per op: 0 for ops that cannot round
(movement, comparisons, ``MAX``, ``WHERE``, ``CAST``...), 1 for the ops IEEE 754 requires to be
correctly rounded, 4 to 8 for transcendental functions, more for accumulations.
:data:`DECOMPOSED_ULPS` is the accuracy idrak promises for its own decomposition of an optional op
(run on a backend that does not declare the op); it is not relaxable, since the backend does not
own that code.

A backend may relax a tolerance, by declaring ``relaxations`` on its Backend class or in the file
given to ``--idrak-xfails``, in the form ``{"SIN": {"float32": {"rtol": 1e-5, "atol": 0.0}}}``.
A relaxation is bounded per dtype by :data:`MAX_RELAXATION` (``atol`` up to the smallest normal
number, which admits flush-to-zero); exact ops and integer dtypes cannot be relaxed. A relaxation
beyond its bound is clamped to the bound and reported as a failure of the ``capabilities``
layer. The report lists every relaxation in force.
"""

from __future__ import annotations

import fnmatch
import json
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from idrak.contract.dtypes import ALL_DTYPES, DType, to_dtype
from idrak.contract.ops import OPS, Op

__all__ = [
    "DECOMPOSED_ULPS",
    "EPS",
    "MAX_RELAXATION",
    "ULPS",
    "Expectations",
    "Relaxation",
    "Tolerance",
    "load_expectations",
    "markdown_table",
    "tolerance",
]


@dataclass(frozen=True)
class Tolerance:
    """An absolute and a relative tolerance: ``|got - want| <= atol + rtol * scale``."""

    rtol: float
    atol: float

    @property
    def exact(self) -> bool:
        """Whether this tolerance admits no difference at all."""
        return self.rtol == 0.0 and self.atol == 0.0


#: machine epsilon (spacing of 1.0) per floating dtype name
EPS: dict[str, float] = {
    "float16": 2.0**-10,
    "bfloat16": 2.0**-7,
    "float32": 2.0**-23,
    "float64": 2.0**-52,
}
#: smallest positive subnormal and smallest positive normal per floating dtype name
_SUBNORMAL = {
    "float16": 2.0**-24,
    "bfloat16": 2.0**-133,
    "float32": 2.0**-149,
    "float64": 2.0**-1074,
}
_TINY = {"float16": 2.0**-14, "bfloat16": 2.0**-126, "float32": 2.0**-126, "float64": 2.0**-1022}

#: allowed error per op, in ulps of the result (of the summed magnitudes for accumulations):
#: the records' :attr:`~idrak.contract.ops.OpDef.ulps`
ULPS: dict[Op, int] = {op: d.ulps for op, d in OPS.items() if op is not Op.FUSED}

#: accuracy of idrak's own decomposition of each optional op, in ulps (see the module docstring)
DECOMPOSED_ULPS: dict[Op, int] = {
    op: d.decomposed_ulps for op, d in OPS.items() if d.decomposed_ulps is not None
}

#: the most a backend may relax any op to, per floating dtype name: 64 ulps for the half
#: types, about 840 ulps (1e-4) for float32, 1e-10 for float64; ``atol`` up to the smallest
#: normal number (admits flushing subnormal results to zero)
MAX_RELAXATION: dict[str, Tolerance] = {
    "float16": Tolerance(rtol=64 * EPS["float16"], atol=_TINY["float16"]),
    "bfloat16": Tolerance(rtol=64 * EPS["bfloat16"], atol=_TINY["bfloat16"]),
    "float32": Tolerance(rtol=1e-4, atol=_TINY["float32"]),
    "float64": Tolerance(rtol=1e-10, atol=_TINY["float64"]),
}

_EXACT = Tolerance(0.0, 0.0)


def _from_ulps(ulps: int, dtype: str) -> Tolerance:
    return Tolerance(ulps * EPS[dtype], ulps * _SUBNORMAL[dtype])


@dataclass(frozen=True)
class Relaxation:
    """One tolerance a backend relaxed.

    Attributes:
        op: the op's name. dtype: the dtype's name.
        requested: the tolerance the backend asked for. granted: after clamping to the bound.
        source: where it was declared (a file path or ``"Backend.relaxations"``).
        error: why it was not (fully) granted; empty when it was.
    """

    op: str
    dtype: str
    requested: Tolerance
    granted: Tolerance
    source: str
    error: str = ""

    def as_dict(self) -> dict[str, Any]:
        """Plain data for the JSON report."""
        return {
            "op": self.op,
            "dtype": self.dtype,
            "rtol": self.granted.rtol,
            "atol": self.granted.atol,
            "requested_rtol": self.requested.rtol,
            "requested_atol": self.requested.atol,
            "source": self.source,
            "error": self.error,
        }


@dataclass
class Expectations:
    """What a backend expects of the suite: expected failures and relaxed tolerances.

    Attributes:
        xfail: pattern -> reason. A pattern is matched (``fnmatch``) against a check's key
            ``layer:op:dtype:kind`` (e.g. ``"primitive:SIN:float16:*"``).
        relaxations: every relaxation declared, granted or not.
    """

    xfail: dict[str, str] = field(default_factory=dict)
    relaxations: list[Relaxation] = field(default_factory=list)

    def xfail_reason(self, key: str) -> str | None:
        """The reason ``key`` is expected to fail, or ``None``."""
        for pattern, reason in self.xfail.items():
            if fnmatch.fnmatchcase(key, pattern):
                return reason
        return None

    def relaxed(self, op: Op, dtype: str) -> Tolerance | None:
        """The granted relaxation of ``(op, dtype)``, if any."""
        for r in self.relaxations:
            if r.op == op.name and r.dtype == dtype:
                return r.granted
        return None


def tolerance(
    op: Op, dtype: DType | str, expectations: Expectations | None = None, decomposed: bool = False
) -> Tolerance:
    """The tolerance the suite applies to ``op`` at ``dtype`` (exact for non-floating dtypes).

    Args:
        decomposed: the result comes from idrak's decomposition of an optional op.
    """
    name = dtype if isinstance(dtype, str) else dtype.name
    if name not in EPS:
        return _EXACT
    ulps = DECOMPOSED_ULPS[op] if decomposed else ULPS[op]
    base = _from_ulps(ulps, name)
    relax = expectations.relaxed(op, name) if expectations is not None and not decomposed else None
    if relax is None:
        return base
    return Tolerance(max(base.rtol, relax.rtol), max(base.atol, relax.atol))


def parse_relaxations(data: Mapping[str, Any], source: str) -> list[Relaxation]:
    """``{"OP": {"dtype": {"rtol": r, "atol": a}}}`` -> relaxations, checked against the bounds.

    Raises:
        ValueError: malformed data (unknown op or dtype name, a non-number), naming the entry.
    """
    out: list[Relaxation] = []
    for op_name, per_dtype in data.items():
        try:
            op = Op[str(op_name).upper()]
        except KeyError:
            raise ValueError(
                f"{source}: relaxation for unknown op {op_name!r}; ops are "
                f"{', '.join(o.name for o in Op)}"
            ) from None
        if not isinstance(per_dtype, Mapping):
            raise ValueError(
                f"{source}: relaxation of {op.name} must map dtype names to "
                f"{{rtol, atol}}, got {per_dtype!r}"
            )
        for dt_name, tol in per_dtype.items():
            try:
                dt = to_dtype(str(dt_name))
            except TypeError:
                raise ValueError(
                    f"{source}: relaxation of {op.name} for unknown dtype {dt_name!r}"
                ) from None
            if not isinstance(tol, Mapping) or set(tol) - {"rtol", "atol"}:
                raise ValueError(
                    f"{source}: relaxation of {op.name} {dt.name} must be "
                    f"{{rtol = ..., atol = ...}}, got {tol!r}"
                )
            try:
                req = Tolerance(float(tol.get("rtol", 0.0)), float(tol.get("atol", 0.0)))
            except (TypeError, ValueError):
                raise ValueError(
                    f"{source}: relaxation of {op.name} {dt.name} has a non-numeric value: {tol!r}"
                ) from None
            out.append(_grant(op, dt, req, source))
    return out


def _grant(op: Op, dt: DType, req: Tolerance, source: str) -> Relaxation:
    bound = MAX_RELAXATION.get(dt.name)
    if bound is None:
        return Relaxation(
            op.name,
            dt.name,
            req,
            _EXACT,
            source,
            f"{dt.name} results are exact; they cannot be relaxed",
        )
    if ULPS.get(op, 0) == 0:
        return Relaxation(
            op.name,
            dt.name,
            req,
            _EXACT,
            source,
            f"{op.name} cannot round, so it must be exact; it cannot be relaxed",
        )
    if not (math.isfinite(req.rtol) and math.isfinite(req.atol)) or req.rtol < 0 or req.atol < 0:
        return Relaxation(
            op.name, dt.name, req, _EXACT, source, "rtol and atol must be finite and non-negative"
        )
    granted = Tolerance(min(req.rtol, bound.rtol), min(req.atol, bound.atol))
    err = ""
    if granted != req:
        err = (
            f"exceeds the bound for {dt.name} (rtol <= {bound.rtol:g}, atol <= "
            f"{bound.atol:g}); clamped to it"
        )
    return Relaxation(op.name, dt.name, req, granted, source, err)


def load_expectations(
    path: str | Path | None,
    backend_relaxations: Mapping[str, Any] | None = None,
) -> Expectations:
    """Read an xfails/relaxations file (TOML, or JSON when it ends in ``.json``).

    The file has two optional tables::

        [xfail]
        "primitive:SIN:float16:*" = "our SIN is a 10-bit approximation"

        [relax.SIN]
        float32 = { rtol = 1e-5 }

    ``backend_relaxations`` (the Backend's ``relaxations`` attribute) are added to the file's.

    Raises:
        ValueError: unreadable file, unknown top-level keys, or a malformed entry.
    """
    exp = Expectations()
    if backend_relaxations:
        exp.relaxations += parse_relaxations(backend_relaxations, "Backend.relaxations")
    if path is None:
        return exp
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
        data = json.loads(text) if p.suffix == ".json" else tomllib.loads(text)
    except (OSError, ValueError) as e:
        raise ValueError(f"cannot read the idrak xfails file {str(p)!r}: {e}") from None
    unknown = set(data) - {"xfail", "relax"}
    if unknown:
        raise ValueError(f"{p}: unknown sections {sorted(unknown)}; expected 'xfail' and 'relax'")
    xf = data.get("xfail", {})
    if not isinstance(xf, Mapping) or not all(isinstance(v, str) for v in xf.values()):
        raise ValueError(f"{p}: [xfail] must map check patterns to reason strings")
    exp.xfail.update({str(k): v for k, v in xf.items()})
    exp.relaxations += parse_relaxations(data.get("relax", {}), str(p))
    return exp


def markdown_table() -> str:
    """The default tolerances as a Markdown table (op, ulps, then rtol per floating dtype).

    ``docs/conformance.md`` embeds this table; idrak's tests check that it is up to date.
    """
    dts = [d.name for d in ALL_DTYPES if d.name in EPS]
    head = "| op | ulps | " + " | ".join(f"rtol {d}" for d in dts) + " | decomposition ulps |"
    rows = [head, "|" + "---|" * (len(dts) + 3)]
    for op in ULPS:
        ulps = ULPS[op]
        cells = " | ".join("exact" if ulps == 0 else f"{ulps * EPS[d]:.3g}" for d in dts)
        dec = DECOMPOSED_ULPS.get(op)
        rows.append(f"| {op.name} | {ulps} | {cells} | {'' if dec is None else dec} |")
    bounds = " | ".join(f"{MAX_RELAXATION[d].rtol:g}" for d in dts)
    rows.append(f"| *bound of a relaxation* | | {bounds} | |")
    return "\n".join(rows)
