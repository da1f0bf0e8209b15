"""``python -m idrak.data download fashion-mnist|mnist|names [--dir DIR]``.

Fetches a data set over https into idrak's cache (or ``--dir``), checking every file's
checksum, so a machine behind a proxy (``https_proxy`` is honoured) or one to be used offline can
be prepared ahead of time. Prints where the files are; a failure prints one line, exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from idrak.errors import IdrakError

DATASETS = ("fashion-mnist", "mnist", "names")


def download(name: str, directory: Path | None) -> Path:
    """Fetch data set ``name`` (both splits) into ``directory`` or the cache; returns where."""
    if name == "names":
        from idrak.data.names import names_file

        return names_file(directory, download=True).parent
    from idrak.data import vision

    spec = vision.FASHION_MNIST if name == "fashion-mnist" else vision.MNIST
    found = [vision.load_split(spec, split, root=directory).root for split in spec.files]
    return Path(found[0])


def main(argv: list[str] | None = None) -> int:
    """The command line; returns the exit status."""
    p = argparse.ArgumentParser(
        prog="python -m idrak.data",
        description="Download idrak's data sets (checksummed, cached) for offline use.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    sub = p.add_subparsers(dest="cmd", metavar="download")
    d = sub.add_parser(
        "download",
        help="fetch a data set",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    d.add_argument("dataset", choices=DATASETS, help="which data set")
    d.add_argument(
        "--dir",
        type=Path,
        default=None,
        help="put the files here instead of the cache (~/.cache/idrak/<dataset>)",
    )
    args = p.parse_args(argv)
    if args.cmd is None:
        p.print_help()
        return 0
    try:
        where = download(args.dataset, args.dir)
    except (IdrakError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{args.dataset}: {where}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
