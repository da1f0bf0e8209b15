"""A child virtual environment that sees exactly this test environment's packages."""

from __future__ import annotations

import os
import site
import subprocess
import sys
from pathlib import Path


def parent_site_dirs() -> list[str]:
    """The site directories of the interpreter running the tests (a venv's own, if it is one)."""
    dirs = list(site.getsitepackages())
    if site.ENABLE_USER_SITE:
        dirs.append(site.getusersitepackages())
    return [d for d in dirs if os.path.isdir(d)]


def child_venv(path: Path, env: dict[str, str]) -> tuple[Path, str]:
    """Make a venv at ``path`` (no pip of its own) whose interpreter also imports everything
    installed where the tests run; returns ``(python, purelib)``.

    ``venv --system-site-packages`` alone reaches the *base* interpreter's packages, not those
    of the venv the tests may run in (the README's ``.venv``), so a ``.pth`` file in the child
    adds this environment's site directories after the child's own.
    """
    subprocess.run(
        [sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(path)],
        check=True,
    )
    py = path / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    purelib = subprocess.run(
        [py, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout.strip()
    lines = [f"import site; site.addsitedir({d!r})" for d in parent_site_dirs()]
    Path(purelib, "_idrak_test_parent_env.pth").write_text("\n".join(lines) + "\n")
    return py, purelib
