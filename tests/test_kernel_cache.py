"""The CUDA backend's PTX disk cache verifies content (issue 14); runs without a GPU."""

from __future__ import annotations

import os
from pathlib import Path

from idrak_cuda._fused import read_cached, write_cached

PTX = ".version 7.0\n.target sm_70\n.address_size 64\n// body\n"


def test_round_trip_and_every_tampering_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "k.ptx"
    write_cached(path, "abc", PTX)
    assert read_cached(path, "abc") == PTX
    assert read_cached(path, "other-key") is None
    good = path.read_bytes()
    for i in range(len(good)):  # every single-byte change of the file
        bad = bytearray(good)
        bad[i] ^= 0x01
        path.write_bytes(bytes(bad))
        assert read_cached(path, "abc") is None, i
    path.write_text(PTX)  # a file without a stamp (old cache, or planted)
    assert read_cached(path, "abc") is None
    assert read_cached(tmp_path / "missing.ptx", "abc") is None


def test_links_and_special_files_are_not_read(tmp_path: Path) -> None:
    real = tmp_path / "real.ptx"
    write_cached(real, "abc", PTX)
    link = tmp_path / "link.ptx"
    link.symlink_to(real)
    assert read_cached(link, "abc") is None
    fifo = tmp_path / "fifo.ptx"
    os.mkfifo(fifo)
    assert read_cached(fifo, "abc") is None
    write_cached(link, "abc", PTX)  # replaces the link, does not write through it
    assert not link.is_symlink() and read_cached(real, "abc") == PTX
    assert not list(tmp_path.glob("*.tmp"))
