"""The conformance report: outcomes of pytest reports, the per-op table, the JSON file."""

from __future__ import annotations

import json
import platform
import time
from collections import Counter
from pathlib import Path
from typing import Any

from idrak.io.atomic import atomic_write
from idrak.testing._session import BLOCKED, LAYERS, Check, Outcome, Session

__all__ = [
    "finish",
    "header",
    "op_table",
    "outcome_of",
    "report_data",
    "summary",
    "verdicts",
]

COLUMNS = ("passed", "failed", "xfailed", "skipped")


def _exc_parts(exc: BaseException | None) -> tuple[str, str | None]:
    """(message, repro) of an exception, looking inside exception groups."""
    if exc is None:
        return "", None
    if isinstance(exc, BaseExceptionGroup):
        for e in exc.exceptions:
            if getattr(e, "repro", None):
                return _exc_parts(e)
        return _exc_parts(exc.exceptions[0]) if exc.exceptions else (str(exc), None)
    msg = str(exc).strip() or type(exc).__name__
    if type(exc).__name__ != "ConformanceFailure":
        msg = f"{type(exc).__name__}: {msg}"
    return msg, getattr(exc, "repro", None)


def outcome_of(check: Check, nodeid: str, rep: Any, call: Any) -> Outcome:
    """The :class:`Outcome` of one pytest report (setup or call phase)."""
    wasxfail = hasattr(rep, "wasxfail")
    if rep.skipped and not wasxfail:
        longrepr = rep.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        reason = reason.removeprefix("Skipped: ")
        return Outcome(check, nodeid, "skipped", reason, duration=rep.duration)
    if rep.passed:
        return Outcome(
            check,
            nodeid,
            "xpassed" if wasxfail else "passed",
            rep.wasxfail if wasxfail else "",
            duration=rep.duration,
        )
    exc = call.excinfo.value if call.excinfo is not None else None
    msg, repro = _exc_parts(exc)
    lines = msg.splitlines()
    msg = "\n".join(lines[:12] + (["..."] if len(lines) > 12 else []))
    return Outcome(
        check,
        nodeid,
        "xfailed" if wasxfail else "failed",
        msg,
        repro or check.repro,
        rep.duration,
        getattr(exc, "culprit", None),
    )


def op_table(s: Session) -> list[dict[str, Any]]:
    """One row per (layer, op): counts of passed, failed, xfailed (incl. xpassed), skipped."""
    rows: dict[tuple[str, str], Counter[str]] = {}
    for o in s.outcomes.values():
        col = {"xpassed": "passed"}.get(o.outcome, o.outcome)
        rows.setdefault((o.check.layer, o.check.op), Counter())[col] += 1
    order = {layer: i for i, layer in enumerate(LAYERS)}
    return [
        {"layer": layer, "op": op, **{c: cnt[c] for c in COLUMNS}}
        for (layer, op), cnt in sorted(rows.items(), key=lambda kv: order[kv[0][0]])
    ]


def _totals(s: Session) -> dict[str, int]:
    cnt = Counter(o.outcome for o in s.outcomes.values())
    cnt["skipped"] += len(s.other_skips)  # tests without a check ("nothing to check here")
    return {k: cnt[k] for k in ("passed", "failed", "xfailed", "xpassed", "skipped")}


def header(s: Session) -> list[str]:
    """The lines pytest prints at the start of the run."""
    c = s.caps
    relax = ", ".join(f"{r.op}/{r.dtype}" for r in s.expect.relaxations) or "none"
    return [
        f"idrak conformance: backend {s.name!r} {c.version} ({c.device_count} device(s))",
        f"  dtypes: {', '.join(d.name for d in s.dtypes)}",
        f"  optional ops: {', '.join(sorted(o.name for o in c.optional_ops)) or 'none'}",
        f"  relaxed tolerances: {relax}; expected failures: {len(s.expect.xfail)}",
    ]


def summary(s: Session) -> list[str]:
    """The per-op table, the relaxations and every failure with its repro (first per op)."""
    end = s.finished or time.time()
    out = [
        f"idrak conformance report: backend {s.name!r}, {len(s.outcomes)} checks in "
        f"{end - s.started:.1f} s",
        "",
    ]
    w = max([len(r["op"]) for r in op_table(s)] + [10])
    out.append(f"{'layer':<13}{'op':<{w + 2}}" + "".join(f"{c:>9}" for c in COLUMNS))
    for r in op_table(s):
        flag = "  <-" if r["failed"] else ""
        out.append(
            f"{r['layer']:<13}{r['op']:<{w + 2}}" + "".join(f"{r[c]:>9}" for c in COLUMNS) + flag
        )
    t = _totals(s)
    out.append(
        f"{'total':<{w + 15}}{t['passed'] + t['xpassed']:>9}{t['failed']:>9}"
        f"{t['xfailed']:>9}{t['skipped']:>9}"
    )
    per_layer = Counter(o.check.layer for o in s.outcomes.values())
    out += [
        "",
        "checks per layer: "
        + ", ".join(f"{layer} {per_layer[layer]}" for layer in LAYERS if per_layer[layer]),
    ]
    out.append("relaxed tolerances: " + ("none" if not s.expect.relaxations else ""))
    for rx in s.expect.relaxations:
        note = f"  REFUSED: {rx.error}" if rx.error else ""
        out.append(
            f"  {rx.op} {rx.dtype}: rtol {rx.granted.rtol:g}, atol {rx.granted.atol:g} "
            f"({rx.source}){note}"
        )
    out += [f"note: {note}" for note in s.notes]
    roots = Counter(
        o.message[len(BLOCKED) :]
        for o in s.outcomes.values()
        if o.outcome == "skipped" and o.message.startswith(BLOCKED)
    )
    if roots:
        out.append("skipped because a check they depend on failed:")
        out += [f"  {n} check(s) {BLOCKED}{cause}" for cause, n in roots.most_common()]
    failed = [o for o in s.outcomes.values() if o.outcome == "failed"]
    if failed:
        out += ["", f"FAILED ({len(failed)}):"]
        shown: set[tuple[str, str]] = set()
        for o in failed:
            lines = o.message.splitlines() if o.message else [""]
            out.append(f"- {o.check.key}: {lines[0]}")
            notes = [ln for ln in lines[4:] if ln.startswith(("bisection:", "flaky:"))]
            out += [f"    {line}" for line in lines[1:4] + notes]
            if o.repro and (o.check.layer, o.check.op) not in shown:
                shown.add((o.check.layer, o.check.op))
                out += ["  repro:"] + [f"    {line}" for line in o.repro.splitlines()]
        if s.report_path:
            out.append(f"every failure's repro is in {s.report_path}")
    xp = [o for o in s.outcomes.values() if o.outcome == "xpassed"]
    if xp:
        out.append(
            "passed although expected to fail (remove from the xfails file): "
            + ", ".join(o.check.key for o in xp)
        )
    for reason in s.other_skips:
        out.append(f"skipped: {reason}")
    return out + ["", "verdict:"] + verdicts(s)


#: the layer of each test module, for the skips of tests that carry no check
_MODULE_LAYERS = {
    "test_1_runtime": "runtime",
    "test_2_primitives": "primitive",
    "test_2_tiers": "primitive",  # its MATMUL checks are layer optional, and have a check
    "test_2_determinism": "determinism",
    "test_3_capabilities": "capabilities",
    "test_4_optional": "optional",
    "test_5_autograd": "autograd",
    "test_6_models": "model",
    "test_7_transfers": "transfer",
    "test_8_random": "random",
}


def _skip_layer(entry: str) -> str | None:
    """The layer of an ``other_skips`` entry (``"path/test_7_transfers.py::...: reason"``)."""
    module = entry.split("::", 1)[0].rsplit("/", 1)[-1].removesuffix(".py")
    return _MODULE_LAYERS.get(module)


def verdicts(s: Session) -> list[str]:
    """One line per layer: PASS / FAIL (with the first failing op) / SKIPPED, with counts."""
    out = []
    for layer in LAYERS:
        mine = [o for o in s.outcomes.values() if o.check.layer == layer]
        skips = sum(1 for e in s.other_skips if _skip_layer(e) == layer)
        if not mine and not skips:
            continue
        cnt = Counter(o.outcome for o in mine)
        cnt["skipped"] += skips
        bad = [o for o in mine if o.outcome == "failed"]
        state = "FAIL" if bad else "PASS" if cnt["passed"] + cnt["xpassed"] else "SKIPPED"
        first = f"; first failing op: {bad[0].op} ({bad[0].check.key})" if bad else ""
        out.append(
            f"  {layer:<13}{state:<8}{cnt['passed'] + cnt['xpassed']} passed, {cnt['failed']} "
            f"failed, {cnt['xfailed']} xfailed, {cnt['skipped']} skipped{first}"
        )
    return out


def report_data(s: Session) -> dict[str, Any]:
    """The JSON report as plain data."""
    import numpy as np

    from idrak import __version__

    c = s.caps
    return {
        "backend": s.name,
        "backend_version": c.version,
        "idrak_version": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(s.started)),
        "duration_s": round((s.finished or time.time()) - s.started, 3),
        "capabilities": {
            "device_count": c.device_count,
            "dtypes": [d.name for d in s.dtypes],
            "optional_ops": sorted(o.name for o in c.optional_ops),
        },
        "totals": _totals(s),
        "ops": op_table(s),
        "relaxations": [r.as_dict() for r in s.expect.relaxations],
        "xfail": dict(s.expect.xfail),
        "notes": list(s.notes),
        "other_skips": list(s.other_skips),
        "verdict": [line.strip() for line in verdicts(s)],
        "checks": [o.as_dict() for o in s.outcomes.values()],
    }


def finish(s: Session) -> None:
    """Stop the clock and write the JSON report (atomically: temp file, then rename)."""
    s.finished = time.time()
    if not s.report_path:
        return
    path = Path(s.report_path)
    atomic_write(path, json.dumps(report_data(s), indent=1) + "\n", fsync=False)
