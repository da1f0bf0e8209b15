"""idrak.data: datasets, collate, DataLoader, IDX files, verified downloads, dataset loaders."""

from __future__ import annotations

import dataclasses
import gc
import gzip
import hashlib
import http.server
import threading
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import numpy as np
import pytest
from _realdata import FASHION_DIR, MNIST_DIR, NAMES_FILE, need

import idrak
import idrak.data as data
from idrak.data import vision
from idrak.data.download import Checksum, ChecksumError, DatasetNotFoundError

HAS_TENSOR = hasattr(idrak, "tensor")


@pytest.fixture(autouse=True)
def _hermetic_data_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test here reads the user's cache or data directories, or a mirror set in the env."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    for var in ("IDRAK_DATA", "IDRAK_DATA_URL"):
        monkeypatch.delenv(var, raising=False)


# datasets ---------------------------------------------------------------------------------
def test_tensor_dataset_indexing() -> None:
    x, y = np.arange(12.0).reshape(6, 2), np.arange(6)
    ds = data.TensorDataset(x, y)
    assert len(ds) == 6 and isinstance(ds, data.Dataset)
    xi, yi = ds[-1]
    assert xi.tolist() == [10.0, 11.0] and yi == 5
    with pytest.raises(IndexError, match="index 6 is out of range for length 6"):
        ds[6]
    with pytest.raises(TypeError, match="must be an integer"):
        ds[1.0]


def test_tensor_dataset_errors() -> None:
    with pytest.raises(ValueError, match=r"lengths \[3, 4\]"):
        data.TensorDataset(np.zeros(3), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="at least one array"):
        data.TensorDataset()
    with pytest.raises(ValueError, match="0-d"):
        data.TensorDataset(np.float32(1.0))


def test_subset_and_random_split() -> None:
    ds = data.TensorDataset(np.arange(10))
    parts = data.random_split(ds, [7, 3], seed=0)
    assert [len(p) for p in parts] == [7, 3]
    seen = sorted(int(p[i][0]) for p in parts for i in range(len(p)))
    assert seen == list(range(10))
    again = data.random_split(ds, [7, 3], seed=0)
    assert parts[0].indices.tolist() == again[0].indices.tolist()
    assert [len(p) for p in data.random_split(ds, [0.5, 0.25, 0.25], seed=1)] == [6, 2, 2]
    with pytest.raises(ValueError, match=r"sum to 9, but len\(dataset\) is 10"):
        data.random_split(ds, [5, 4])
    with pytest.raises(IndexError, match=r"\[10\] are out of range for length 10"):
        data.Subset(ds, [0, 10])
    assert data.Subset(ds, [-1])[0][0] == 9


# collate ----------------------------------------------------------------------------------
def test_default_collate_structures() -> None:
    samples = [
        (np.ones((2, 3), np.float32), 1, 0.5, "a"),
        (np.zeros((2, 3), np.float32), 2, 1.5, "b"),
    ]
    x, y, z, s = data.default_collate(samples)
    assert x.shape == (2, 2, 3) and x.dtype == np.float32
    assert y.dtype == np.int64 and z.dtype == np.float32 and s == ["a", "b"]
    d = data.default_collate([{"a": 1, "b": [1.0, 2.0]}, {"a": 2, "b": [3.0, 4.0]}])
    assert d["a"].tolist() == [1, 2] and d["b"][1].tolist() == [2.0, 4.0]
    with pytest.raises(ValueError, match=r"different shapes: \[\(2,\), \(3,\)\]"):
        data.default_collate([np.zeros(2), np.zeros(3)])
    with pytest.raises(TypeError, match="type object"):
        data.default_collate([object()])


# DataLoader -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("n", "bs", "drop_last", "expected"),
    [(10, 3, False, 4), (10, 3, True, 3), (9, 3, True, 3), (2, 5, True, 0)],
)
def test_loader_len_and_order(n: int, bs: int, drop_last: bool, expected: int) -> None:
    ds = data.TensorDataset(np.arange(n))
    loader = data.DataLoader(ds, batch_size=bs, drop_last=drop_last, to_tensor=False)
    batches = [b[0] for b in loader]
    assert len(loader) == len(batches) == expected
    flat = np.concatenate(batches).tolist() if batches else []
    assert flat == list(range(len(flat)))
    assert all(len(b) == bs for b in batches[: n // bs])


def test_loader_shuffle_per_epoch_and_seed() -> None:
    ds = data.TensorDataset(np.arange(50))
    a = data.DataLoader(ds, batch_size=50, shuffle=True, seed=3, to_tensor=False)
    e0, e1 = (next(iter(a))[0].tolist() for _ in range(2))
    assert sorted(e0) == list(range(50)) and e0 != e1 and e0 != list(range(50))
    b = data.DataLoader(ds, batch_size=50, shuffle=True, seed=3, to_tensor=False)
    assert next(iter(b))[0].tolist() == e0
    b.set_epoch(1)
    assert next(iter(b))[0].tolist() == e1


def test_loader_fast_path_skips_getitem(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    original = data.TensorDataset.__getitem__

    def counting(self: data.TensorDataset, i: int) -> tuple[np.ndarray, ...]:
        calls.append(i)
        return original(self, i)

    monkeypatch.setattr(data.TensorDataset, "__getitem__", counting)
    x = np.arange(40).reshape(20, 2)
    ds = data.TensorDataset(x, np.arange(20))
    sub = data.Subset(data.Subset(ds, np.arange(19, -1, -1)), [0, 5, 7])
    for dataset, rows in ((ds, np.arange(20)), (sub, np.array([19, 14, 12]))):
        got = np.concatenate([b[0] for b in data.DataLoader(dataset, 4, to_tensor=False)])
        assert (got == x[rows]).all()
    assert calls == []


def test_loader_generic_dataset_and_collate_fn() -> None:
    samples = [{"x": np.full(3, i, np.float32), "y": i} for i in range(5)]
    batches = list(data.DataLoader(samples, batch_size=2, to_tensor=False))
    assert [b["y"].tolist() for b in batches] == [[0, 1], [2, 3], [4]]
    assert batches[0]["x"].shape == (2, 3)
    custom = data.DataLoader(samples, batch_size=2, collate_fn=lambda s: len(s), prefetch=False)
    assert list(custom) == [2, 2, 1]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"batch_size": 0}, ValueError, "batch_size must be >= 1, got 0"),
        ({"batch_size": 2.5}, TypeError, "batch_size must be an int or None, got float"),
        ({"batch_size": True}, TypeError, "batch_size must be an int or None, got bool"),
        ({"shuffle": 1}, TypeError, "shuffle must be a bool, got 1"),
        ({"seed": -1}, ValueError, "seed must be a non-negative int or None, got -1"),
        ({"collate_fn": 3}, TypeError, "collate_fn must be callable, got int"),
    ],
)
def test_loader_validation(kwargs: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        data.DataLoader(data.TensorDataset(np.arange(4)), **kwargs)


def test_loader_rejects_non_dataset() -> None:
    with pytest.raises(TypeError, match="__len__ and __getitem__, got int"):
        data.DataLoader(5)


def _prefetch_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "idrak-dataloader-prefetch"]


def _wait_no_prefetch_threads() -> bool:
    deadline = time.monotonic() + 5
    while _prefetch_threads() and time.monotonic() < deadline:
        gc.collect()
        time.sleep(0.01)
    return not _prefetch_threads()


def test_prefetch_thread_stops_when_abandoned_or_exhausted() -> None:
    loader = data.DataLoader(data.TensorDataset(np.arange(1000)), batch_size=1, to_tensor=False)
    it = iter(loader)
    next(it)
    assert _prefetch_threads()
    del it  # abandoned mid-epoch with a full prefetch queue
    assert _wait_no_prefetch_threads()
    for _ in loader:
        pass
    assert _wait_no_prefetch_threads()


def test_prefetch_propagates_dataset_errors() -> None:
    class Broken:
        def __len__(self) -> int:
            return 10

        def __getitem__(self, i: int) -> int:
            if i == 5:
                raise RuntimeError("sample 5 is corrupt")
            return i

    it = iter(data.DataLoader(Broken(), batch_size=2, to_tensor=False))
    assert next(it).tolist() == [0, 1]
    with pytest.raises(RuntimeError, match="sample 5 is corrupt"):
        list(it)
    assert _wait_no_prefetch_threads()


def test_prefetch_matches_no_prefetch() -> None:
    ds = data.TensorDataset(np.arange(37), np.arange(37) * 2)
    kw = {"batch_size": 5, "shuffle": True, "seed": 9, "to_tensor": False}
    a = [b[1].tolist() for b in data.DataLoader(ds, prefetch=True, **kw)]
    b = [b[1].tolist() for b in data.DataLoader(ds, prefetch=False, **kw)]
    assert a == b


def test_loader_epoch_of_60k_images_is_fast() -> None:
    images = np.zeros((60000, 28, 28), np.uint8)
    loader = data.DataLoader(
        data.TensorDataset(images, np.zeros(60000, np.int64)),
        batch_size=128,
        shuffle=True,
        seed=0,
        to_tensor=False,
    )
    start = time.perf_counter()
    n = sum(len(x) for x, _ in loader)
    assert n == 60000 and time.perf_counter() - start < 2.0


@pytest.mark.skipif(not HAS_TENSOR, reason="idrak.tensor not available yet")
def test_loader_yields_tensors() -> None:
    ds = data.TensorDataset(np.ones((5, 2), np.float32), np.arange(5))
    x, y = next(iter(data.DataLoader(ds, batch_size=4, device="cpu")))
    assert tuple(x.shape) == (4, 2) and x.dtype == idrak.float32
    assert y.dtype == idrak.int64 and y.numpy().tolist() == [0, 1, 2, 3]


@pytest.mark.skipif(HAS_TENSOR, reason="idrak.tensor exists")
def test_loader_without_tensor_says_to_tensor_false() -> None:
    with pytest.raises(RuntimeError, match="to_tensor=False"):
        next(iter(data.DataLoader(data.TensorDataset(np.arange(3)))))


# IDX files --------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("name", ["a.idx", "a.idx.gz"])
def test_idx_round_trip(tmp_path: Path, dtype: type, name: str) -> None:
    arr: np.ndarray = (np.arange(24) - 5).astype(dtype).reshape(2, 3, 4)
    got = data.read_idx(data.write_idx(tmp_path / name, arr))
    assert got.dtype == np.dtype(dtype) and got.shape == arr.shape and (got == arr).all()


def test_idx_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.write_bytes(b"\x01\x02\x08\x01\x00\x00\x00\x01\x00")
    with pytest.raises(data.IdxFormatError, match="bad IDX magic 01020801"):
        data.read_idx(bad)
    short = tmp_path / "short"
    short.write_bytes(bytes([0, 0, 8, 1]) + (5).to_bytes(4, "big") + b"abc")
    with pytest.raises(data.IdxFormatError, match=r"shape \(5,\) of uint8 \(5 data bytes\).*has 3"):
        data.read_idx(short)
    trunc = tmp_path / "trunc.gz"
    trunc.write_bytes(gzip.compress(bytes(100))[:20])
    with pytest.raises(data.IdxFormatError, match="corrupt or truncated gzip"):
        data.read_idx(trunc)


# downloads --------------------------------------------------------------------------------
class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def http_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, str]]:
    """A directory served over HTTP on 127.0.0.1 (no proxies), and its base URL."""
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    served = tmp_path / "served"
    served.mkdir()
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), partial(_QuietHandler, directory=str(served))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield served, f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def test_download_verifies_checksum(http_dir: tuple[Path, str], tmp_path: Path) -> None:
    served, url = http_dir
    payload = b"hello idrak" * 1000
    (served / "f.bin").write_bytes(payload)
    good = [
        Checksum("sha256", hashlib.sha256(payload).hexdigest()),
        Checksum("md5", hashlib.md5(payload).hexdigest()),
    ]
    dest = tmp_path / "out" / "f.bin"
    assert data.download_url(url + "f.bin", dest, good, progress=False).read_bytes() == payload
    bad_dest = tmp_path / "out" / "g.bin"
    with pytest.raises(
        ChecksumError,
        match=f"sha256 mismatch: expected {'0' * 64}, got {hashlib.sha256(payload).hexdigest()}",
    ):
        data.download_url(url + "f.bin", bad_dest, [Checksum("sha256", "0" * 64)], progress=False)
    assert sorted(p.name for p in dest.parent.iterdir()) == ["f.bin"]  # no temp files left
    with pytest.raises(ValueError, match="unknown checksum algorithm 'crc'"):
        Checksum("crc", "00")


def _fake_spec(src: Path, n: int = 7) -> vision.DatasetSpec:
    """A tiny MNIST-like dataset written to ``src``, with its real checksums."""
    rng = np.random.default_rng(0)
    files = []
    for name, arr in (
        ("imgs.gz", rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)),
        ("labels.gz", rng.integers(0, 10, n, dtype=np.uint8)),
    ):
        raw_path = data.write_idx(src / name, arr)
        gz = raw_path.read_bytes()
        files.append(
            vision.RemoteFile(
                name,
                (Checksum("sha256", hashlib.sha256(gz).hexdigest()),),
                hashlib.sha256(gzip.decompress(gz)).hexdigest(),
            )
        )
    return vision.DatasetSpec(
        "fake",
        "Fake-MNIST",
        "http://invalid.example/",
        {"test": tuple(files)},
        tuple("0123456789"),
        apt_package="dataset-fake",
    )


def test_loader_downloads_then_uses_cache(
    http_dir: tuple[Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    served, url = http_dir
    spec = _fake_spec(served)
    monkeypatch.setenv("IDRAK_DATA_URL", url.rstrip("/") + "/{name}/../")
    ds = vision.load_split(spec, "test", normalize=True)
    assert ds.images.shape == (7, 1, 28, 28) and ds.images.dtype == np.float32
    assert ds.labels.dtype == np.int64 and ds.root == tmp_path / "cache" / "idrak" / "fake"
    for f in served.iterdir():
        f.unlink()  # the server has nothing now: a second load must come from the cache
    flat = vision.load_split(spec, "test", flatten=True)
    assert flat.images.shape == (7, 784) and flat.images.dtype == np.uint8


def test_loader_bad_download_checksum_leaves_nothing(
    http_dir: tuple[Path, str], tmp_path: Path
) -> None:
    served, url = http_dir
    spec = _fake_spec(served)
    (served / "imgs.gz").write_bytes(gzip.compress(b"tampered"))
    with pytest.raises(ChecksumError, match="sha256 mismatch"):
        vision.load_split(spec, "test", root=tmp_path / "r", base_url=url)
    assert list((tmp_path / "r").iterdir()) == []


def test_offline_error_says_how_to_get_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = _fake_spec(tmp_path / "src")
    with pytest.raises(DatasetNotFoundError) as info:
        vision.load_split(spec, "test", root=tmp_path / "empty", download=False)
    msg = str(info.value)
    assert "apt-get install dataset-fake" in msg and str(tmp_path / "empty") in msg
    assert "IDRAK_DATA" in msg and "imgs.gz" in msg
    with pytest.raises(
        DatasetNotFoundError, match=r"downloading http://127\.0\.0\.1:9/imgs\.gz failed"
    ):
        vision.load_split(spec, "test", root=tmp_path / "r", base_url="http://127.0.0.1:9/")
    nowhere = dataclasses.replace(vision.FASHION_MNIST, system_dirs=(str(tmp_path / "sys"),))
    monkeypatch.setattr(vision, "FASHION_MNIST", nowhere)
    with pytest.raises(DatasetNotFoundError, match="apt-get install dataset-fashion-mnist"):
        data.fashion_mnist("test", root=tmp_path / "empty", download=False)
    with pytest.raises(ValueError, match="split must be one of"):
        data.mnist("val", root=tmp_path)


def test_search_order_and_local_verification(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = _fake_spec(tmp_path / "fake")
    monkeypatch.setenv("IDRAK_DATA", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "nocache"))
    assert vision.load_split(spec, "test", download=False).root == tmp_path / "fake"
    # an explicit root is searched first; without the files there the search goes on
    assert vision.load_split(spec, "test", root=tmp_path / "x", download=False).root == (
        tmp_path / "fake"
    )
    assert data.cache_dir("x") == tmp_path / "nocache" / "idrak" / "x"
    data.write_idx(tmp_path / "fake" / "labels.gz", np.zeros(7, np.uint8))  # valid but altered
    with pytest.raises(ChecksumError, match="decompressed content sha256 mismatch"):
        vision.load_split(spec, "test", download=False)
    assert vision.load_split(spec, "test", download=False, verify=False).labels.sum() == 0


# text -------------------------------------------------------------------------------------
def test_char_dataset_examples() -> None:
    ds = data.CharDataset(["emma", "  ", "bo\n"], block_size=3)
    assert ds.words == ["emma", "bo"] and ds.itos == [".", "a", "b", "e", "m", "o"]
    contexts = ["".join(ds.itos[i] for i in row) for row in ds.X[:5]]
    assert contexts == ["...", "..e", ".em", "emm", "mma"] and ds.decode(ds.Y[:5]) == "emma."
    assert ds.X.dtype == np.int64 and len(ds) == 5 + 3 and ds.vocab_size == 6
    assert ds.decode(ds.encode("bob")) == "bob"
    with pytest.raises(ValueError, match="character 'z' at position 1"):
        ds.encode("az")
    with pytest.raises(ValueError, match="boundary token"):
        data.CharDataset(["a.b"])
    with pytest.raises(ValueError, match="block_size must be >= 1"):
        data.CharDataset(["ab"], block_size=0)


def test_names_dataset_file(tmp_path: Path) -> None:
    p = tmp_path / "names.txt"
    p.write_text("ann\nbob\n\n")
    ds = data.names_dataset(p, block_size=2)
    assert ds.words == ["ann", "bob"] and ds.X.shape == (8, 2)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        data.names_dataset(tmp_path / "missing.txt")


# real data --------------------------------------------------------------------------------
@pytest.mark.realdata
def test_real_mnist_test_split() -> None:
    root = need(MNIST_DIR, "MNIST test split", "t10k-images-idx3-ubyte.gz")
    ds = data.mnist("test", root=root, download=False)
    assert ds.images.shape == (10000, 28, 28) and ds.images.dtype == np.uint8
    assert ds.labels[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert np.bincount(ds.labels).tolist()[:2] == [980, 1135]


@pytest.mark.realdata
def test_real_fashion_mnist() -> None:
    root = need(
        FASHION_DIR,
        "Fashion-MNIST (apt-get install dataset-fashion-mnist)",
        "train-images-idx3-ubyte.gz",
    )
    train = data.fashion_mnist("train", root=root, download=False, normalize=True)
    test = data.fashion_mnist("test", root=root, download=False)
    assert train.images.shape == (60000, 1, 28, 28) and float(train.images.max()) == 1.0
    assert np.bincount(train.labels).tolist() == [6000] * 10
    assert np.bincount(test.labels).tolist() == [1000] * 10 and test.classes[9] == "Ankle boot"


@pytest.mark.realdata
def test_real_names() -> None:
    ds = data.names_dataset(need(NAMES_FILE, "names.txt"), block_size=3)
    assert len(ds.words) == 32033 and ds.vocab_size == 27 and len(ds) == 228146
    assert ds.decode(ds.Y[:5]) == "emma."


def test_download_urls_are_https() -> None:
    from idrak.data import names

    for spec in (vision.MNIST, vision.FASHION_MNIST):
        assert spec.base_url.startswith("https://"), spec.base_url
    assert names.NAMES_URL.startswith("https://")


def test_failed_download_is_one_clean_paragraph(tmp_path: Path) -> None:
    spec = _fake_spec(tmp_path / "src")
    with pytest.raises(DatasetNotFoundError) as info:
        vision.load_split(spec, "test", root=tmp_path / "r", base_url="http://127.0.0.1:9/")
    msg = str(info.value)
    assert "\n" not in msg and "download=True" not in msg
    assert "python -m idrak.data download" not in msg  # that is what just failed
    assert info.value.__cause__ is None and info.value.__suppress_context__  # no chained traceback


def test_names_file_downloads_verified_and_cached(
    http_dir: tuple[Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hashlib

    from idrak.data import names
    from idrak.data.__main__ import main as data_main

    served, url = http_dir
    content = b"emma\nolivia\nava\n"
    (served / "names.txt").write_bytes(content)
    monkeypatch.delenv("IDRAK_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(names, "NAMES_URL", url + "names.txt")
    monkeypatch.setattr(names, "NAMES_SHA256", hashlib.sha256(content).hexdigest())
    with pytest.raises(DatasetNotFoundError, match=r"python -m idrak\.data download names"):
        names.names_file()
    assert data_main(["download", "names"]) == 0
    cached = tmp_path / "cache" / "idrak" / "names" / "names.txt"
    assert cached.read_bytes() == content and names.names_file() == cached
    assert data.names_dataset(names.names_file()).words == ["emma", "olivia", "ava"]
    # --dir puts it elsewhere; a tampered download is refused and leaves nothing behind
    (served / "names.txt").write_bytes(b"tampered\n")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "empty-cache"))
    with pytest.raises(ChecksumError, match="sha256 mismatch"):
        names.names_file(tmp_path / "other", download=True)
    assert not (tmp_path / "other" / "names.txt").exists()
    assert data_main(["download", "names", "--dir", str(tmp_path / "other")]) == 2


def test_data_command_line_failure_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from idrak.data import names
    from idrak.data.__main__ import main as data_main

    monkeypatch.setattr(names, "NAMES_URL", "http://127.0.0.1:9/names.txt")
    assert data_main(["download", "names", "--dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: downloading http://127.0.0.1:9/names.txt failed")
    assert "\n" not in err
    with pytest.raises(SystemExit) as info:
        data_main(["download", "cifar"])
    assert info.value.code == 2 and "'cifar'" in capsys.readouterr().err
