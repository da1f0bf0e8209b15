"""The ``idrak`` command line: ``idrak backends [--json]``, ``idrak conformance NAME``,
``idrak --version``; ``idrak`` alone prints help."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

__all__ = ["backends_report", "main"]


def backends_report() -> dict[str, Any]:
    """Every discovered backend and every failed plugin, as plain data.

    A backend whose instance, availability or capabilities cannot be read is still listed,
    unavailable, with the error as its ``reason``.
    """
    from idrak.errors import DeviceError
    from idrak.runtime.plugins import backend_entries, get_backend, plugin_failures

    rows = []
    for name, e in sorted(backend_entries().items()):
        row: dict[str, Any] = {
            "name": name,
            "plugin": e.plugin,
            "distribution": e.distribution,
            "version": e.version,
            "description": e.description,
            "available": False,
            "reason": "",
            "devices": 0,
            "dtypes": [],
            "optional_ops": [],
        }
        try:
            be = get_backend(name)
            caps = be.capabilities()
            info = {
                "devices": int(caps.device_count),
                "dtypes": sorted(d.name for d in caps.dtypes),
                "optional_ops": sorted(o.name for o in caps.optional_ops),
                "backend_version": str(caps.version),
            }
            row.update(available=True, **info)
        except (KeyboardInterrupt, GeneratorExit):
            raise
        except BaseException as err:  # a broken backend is listed with its error, never fatal
            row["reason"] = (
                str(err)
                if isinstance(err, DeviceError)
                else (f"capabilities() failed: {type(err).__name__}: {err}")
            )
        rows.append(row)
    fails = [{"plugin": f.plugin, "stage": f.stage, "error": f.error} for f in plugin_failures()]
    return {"backends": rows, "failed_plugins": fails}


def _print_backends(rep: dict[str, Any]) -> None:
    for r in rep["backends"]:
        src = f"{r['distribution'] or 'in-process'} {r['version'] or ''}".strip()
        state = "available" if r["available"] else "unavailable"
        print(f"{r['name']}  ({src}, plugin {r['plugin']!r})  {state}")
        if r["available"]:
            print(f"  devices: {r['devices']}")
            print(f"  dtypes: {', '.join(r['dtypes'])}")
            print(f"  optional ops: {', '.join(r['optional_ops']) or 'none'}")
        else:
            print(f"  reason: {r['reason']}")
    for f in rep["failed_plugins"]:
        print(f"FAILED plugin {f['plugin']!r} ({f['stage']}): {f['error']}")
    if not rep["backends"] and not rep["failed_plugins"]:
        print("no backends found (is idrak installed, and IDRAK_PLUGINS not excluding them?)")


def main(argv: list[str] | None = None) -> int:
    from idrak import __version__

    p = argparse.ArgumentParser(
        prog="idrak",
        description="idrak command line: inspect backends, run the conformance suite. "
        "Data: python -m idrak.data download NAME; examples: python -m idrak.examples.NAME.",
    )
    p.add_argument("--version", action="version", version=f"idrak {__version__}")
    sub = p.add_subparsers(dest="cmd", metavar="{backends,conformance}")
    b = sub.add_parser("backends", help="list discovered backends and failed plugins")
    b.add_argument("--json", action="store_true", help="print JSON for machines")
    c = sub.add_parser(
        "conformance",
        help="run the backend conformance suite",
        description="Run idrak's backend conformance suite on a registered backend.",
        epilog="Arguments after `--` go to pytest, e.g. `idrak conformance numpy -- -x -k MAX "
        "-v`. Each check's key is layer:op:dtype:kind; see docs/conformance.md.",
    )
    c.add_argument("backend", help="registered backend name, e.g. numpy (see `idrak backends`)")
    c.add_argument("--json", dest="json_path", default=None, help="write the JSON report here")
    c.add_argument("--junit", default=None, metavar="PATH", help="write a JUnit XML report here")
    c.add_argument("--xfails", default=None, help="file of expected failures")
    c.add_argument("--list", action="store_true", help="list the checks and their layers")
    c.add_argument("--only", default=None, metavar="OP", help="run only this op's checks")
    c.add_argument("--layer", default=None, metavar="LAYER", help="run only this layer")
    args, extra = p.parse_known_args(argv)
    if args.cmd is None:
        if extra:
            p.error(f"unrecognized arguments: {' '.join(extra)}")
        p.print_help()
        return 0
    if args.cmd != "conformance" and extra:
        p.error(f"unrecognized arguments: {' '.join(extra)}")
    # anything idrak does not know (e.g. `-- -k MAX -x`) goes to pytest
    args.pytest_args = [a for a in extra if a != "--"]
    if args.cmd == "backends":
        rep = backends_report()
        if args.json:
            json.dump(rep, sys.stdout, indent=2)
            print()
        else:
            _print_backends(rep)
        return 0
    from idrak.runtime.plugins import backend_entries
    from idrak.testing.runner import run_conformance

    names = sorted(backend_entries())
    if args.backend not in names:
        print(
            f"idrak conformance: no backend {args.backend!r} is installed; installed backends: "
            f"{', '.join(names) or 'none'} (`idrak backends` says more)",
            file=sys.stderr,
        )
        return 4
    extra = list(args.pytest_args)
    if args.junit:
        extra += ["--junitxml", args.junit]
    if args.list:
        extra += ["--idrak-list"]
    if args.only:
        extra += ["--idrak-only", args.only]
    if args.layer:
        extra += ["--idrak-layer", args.layer]
    return run_conformance(args.backend, json_path=args.json_path, xfails=args.xfails, extra=extra)


if __name__ == "__main__":
    sys.exit(main())
