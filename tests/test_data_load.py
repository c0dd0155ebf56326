"""Fashion-MNIST loader on generated IDX files: search order, verification, corruption, download.

Every test runs against a small generated dataset installed in place of the real file registry
(``_fashion.FASHION_MNIST``) with its own pinned hashes; the user cache directory is redirected with
``$XDG_CACHE_HOME`` and the system (Debian) directory to ``tmp_path``. Downloads go to a local
``http.server`` on 127.0.0.1; nothing touches the internet.
"""

from __future__ import annotations

import collections
import dataclasses
import gzip
import hashlib
import http.server
import sys
import threading
from pathlib import Path

import numpy as np
import platformdirs
import pytest

from bnnlab.data import _fashion, _sources, load
from bnnlab.data._idx import encode_idx

N_TRAIN, N_TEST = 30, 12


@dataclasses.dataclass
class Fake:
    spec: _fashion.IDXDataset
    arrays: dict[str, tuple[np.ndarray, np.ndarray]]
    gz: dict[str, bytes]  # file name -> gzip bytes served / installed
    raw: dict[str, bytes]  # file name -> decompressed bytes
    cache: Path
    debian: Path

    def install(self, directory: Path, names=None, *, compress=True) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        for name in names or self.gz:
            if compress:
                (directory / name).write_bytes(self.gz[name])
            else:
                (directory / name.removesuffix(".gz")).write_bytes(self.raw[name])
        return directory


def _sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


@pytest.fixture
def fake(tmp_path, monkeypatch) -> Fake:
    rng = np.random.default_rng(7)
    real = _fashion.FASHION_MNIST
    splits, arrays, gz, raw = {}, {}, {}, {}
    for split, n in (("train", N_TRAIN), ("test", N_TEST)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n, dtype=np.uint8)
        arrays[split] = (images, labels.astype(np.int64))
        files = []
        for official, arr in zip(real.splits[split], (images, labels), strict=True):
            raw[official.name] = encode_idx(arr)
            gz[official.name] = gzip.compress(raw[official.name], mtime=0)
            files.append(
                _fashion.IDXFile(
                    official.name, _sha(raw[official.name]), n, _sha(gz[official.name])
                )
            )
        splits[split] = tuple(files)
    debian = tmp_path / "debian" / "fashion-mnist"
    spec = dataclasses.replace(real, splits=splits, system_dirs=(str(debian),))
    monkeypatch.setattr(_fashion, "FASHION_MNIST", spec)
    monkeypatch.setattr(_fashion, "_CACHE", collections.OrderedDict())  # isolate tests
    monkeypatch.delenv(_sources.ENV_DATA, raising=False)
    monkeypatch.delenv(spec.url_env, raising=False)
    if sys.platform.startswith("linux"):  # the real platformdirs rule
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    else:
        monkeypatch.setattr(
            platformdirs, "user_cache_dir", lambda app: str(tmp_path / "xdg-cache" / app)
        )
    cache = _sources.cache_dir(spec.dirname)
    assert cache == tmp_path / "xdg-cache" / "bnnlab" / "fashion-mnist"
    return Fake(spec, arrays, gz, raw, cache, debian)


def _check(fake: Fake, split: str, images, labels):
    want_x, want_y = fake.arrays[split]
    assert images.dtype == np.uint8 and images.shape == want_x.shape
    assert labels.dtype == np.int64 and labels.shape == want_y.shape
    assert (images == want_x).all() and (labels == want_y).all()


def _corrupt(fake: Fake, directory: Path, name: str) -> Path:
    """A structurally valid IDX file with different content: only the hash can tell."""
    arr = fake.arrays["train" if name.startswith("train") else "test"][0 if "images" in name else 1]
    arr = arr.astype(np.uint8).copy()
    arr.flat[0] ^= 1
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_bytes(gzip.compress(encode_idx(arr)))
    return path


@pytest.mark.parametrize("split", ["train", "test"])
@pytest.mark.parametrize("compress", [True, False])
def test_round_trip_from_root(fake, tmp_path, split, compress):
    root = fake.install(tmp_path / "root", compress=compress)
    _check(fake, split, *load("fashion-mnist", split, root=root))


LEVELS = ["root", "env/fashion-mnist", "env", "cache", "debian"]


def _level_dir(fake: Fake, tmp_path: Path, level: str) -> Path:
    return {
        "root": tmp_path / "root",
        "env/fashion-mnist": tmp_path / "env" / "fashion-mnist",
        "env": tmp_path / "env",
        "cache": fake.cache,
        "debian": fake.debian,
    }[level]


@pytest.mark.parametrize("i", range(len(LEVELS)))
def test_search_order(fake, tmp_path, monkeypatch, i):
    """Valid files at level i and wrong ones at every later level: level i wins. Wrong files at
    level i and valid ones later: the error names level i (it was searched first, and a bad file
    is reported, not skipped)."""
    monkeypatch.setenv(_sources.ENV_DATA, str(tmp_path / "env"))
    name = "train-images-idx3-ubyte.gz"
    dirs = [_level_dir(fake, tmp_path, lv) for lv in LEVELS]
    for d in dirs:
        fake.install(d, ["train-labels-idx1-ubyte.gz"])
    fake.install(dirs[i], [name])
    for d in dirs[i + 1 :]:
        _corrupt(fake, d, name)
    _check(fake, "train", *load("fashion-mnist", root=tmp_path / "root"))

    bad = _corrupt(fake, dirs[i], name)
    for d in dirs[i + 1 :]:
        fake.install(d, [name])
    with pytest.raises(ValueError, match=r"SHA-256") as err:
        load("fashion-mnist", root=tmp_path / "root")
    assert str(err.value).startswith(str(bad))


def test_not_found_says_where_and_how(fake, tmp_path, monkeypatch):
    monkeypatch.setenv(_sources.ENV_DATA, str(tmp_path / "env"))
    with pytest.raises(FileNotFoundError) as err:
        load("fashion-mnist", "test", root=tmp_path / "root")
    msg = str(err.value)
    assert "t10k-images-idx3-ubyte.gz" in msg and "t10k-labels-idx1-ubyte.gz" in msg
    for d in [tmp_path / "root", tmp_path / "env" / "fashion-mnist", fake.cache, fake.debian]:
        assert str(d) in msg
    assert "apt-get install dataset-fashion-mnist" in msg
    assert "download=True" in msg
    assert "root=" in msg and "$BNNLAB_DATA" in msg


def test_partial_files_are_found_separately(fake, tmp_path):
    root = fake.install(tmp_path / "root", ["train-images-idx3-ubyte.gz"])
    fake.install(fake.debian, ["train-labels-idx1-ubyte.gz"])
    _check(fake, "train", *load("fashion-mnist", root=root))
    fake.debian.joinpath("train-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(FileNotFoundError, match=r"train-labels") as err:
        load("fashion-mnist", root=root)
    assert "train-images" not in str(err.value).splitlines()[0]


# -- corruption: each case raises ValueError naming the file, and leaves the file untouched --------


def _gz(arr: np.ndarray) -> bytes:
    return gzip.compress(encode_idx(arr))


def _case_files(fake: Fake, case: str) -> dict[str, bytes]:
    y8 = fake.arrays["train"][1].astype(np.uint8)
    img, lab = "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"
    if case == "magic":  # the labels file where the images belong
        return {img: fake.gz[lab]}
    if case == "gzip-truncated":
        return {img: fake.gz[img][: len(fake.gz[img]) // 2]}
    if case == "payload-truncated":
        return {img: gzip.compress(fake.raw[img][:-100])}
    if case == "hash":
        return {lab: _gz((y8 + 1) % 10)}
    if case == "label-range":
        return {lab: _gz(np.where(y8 == 0, 10, y8).astype(np.uint8))}
    raise AssertionError(case)


CASES = {
    "magic": ("train-images", "wrong IDX magic number 0x00000801, expected 0x00000803"),
    "gzip-truncated": ("train-images", "truncated gzip file"),
    "payload-truncated": ("train-images", "truncated IDX payload"),
    "hash": ("train-labels", "SHA-256 of the decompressed content is [0-9a-f]{64}, expected"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_corrupt_files(fake, tmp_path, case):
    root = fake.install(tmp_path / "root")
    for name, data in _case_files(fake, case).items():
        (root / name).write_bytes(data)
    before = {p.name: p.read_bytes() for p in root.iterdir()}
    prefix, match = CASES[case]
    with pytest.raises(ValueError, match=match) as err:
        load("fashion-mnist", root=root)
    assert str(err.value).startswith(str(root / prefix))
    assert {p.name: p.read_bytes() for p in root.iterdir()} == before


def _respec(fake: Fake, monkeypatch, split: str, **counts_and_hashes) -> None:
    img, lab = fake.spec.splits[split]
    new = (
        dataclasses.replace(img, **counts_and_hashes.get("images", {})),
        dataclasses.replace(lab, **counts_and_hashes.get("labels", {})),
    )
    spec = dataclasses.replace(fake.spec, splits={**fake.spec.splits, split: new})
    monkeypatch.setattr(_fashion, "FASHION_MNIST", spec)


def test_image_label_count_mismatch(fake, tmp_path, monkeypatch):
    y = fake.arrays["train"][1]
    root = fake.install(tmp_path / "root")
    labels = gzip.compress(encode_idx(y[:-1].astype(np.uint8)))
    (root / "train-labels-idx1-ubyte.gz").write_bytes(labels)
    _respec(
        fake,
        monkeypatch,
        "train",
        labels={"sha256": _sha(gzip.decompress(labels)), "count": N_TRAIN - 1},
    )
    with pytest.raises(ValueError, match=f"{N_TRAIN} images but {N_TRAIN - 1} labels"):
        load("fashion-mnist", root=root)


def test_item_count_differs_from_registry(fake, tmp_path, monkeypatch):
    root = fake.install(tmp_path / "root")
    _respec(fake, monkeypatch, "train", images={"count": N_TRAIN + 1})
    with pytest.raises(ValueError, match=f"{N_TRAIN} items, expected {N_TRAIN + 1}"):
        load("fashion-mnist", root=root)


def test_label_out_of_range(fake, tmp_path, monkeypatch):
    root = fake.install(tmp_path / "root")
    files = _case_files(fake, "label-range")
    for name, data in files.items():
        (root / name).write_bytes(data)
    _respec(fake, monkeypatch, "train", labels={"sha256": _sha(gzip.decompress(files[name]))})
    with pytest.raises(ValueError, match=r"label 10 outside 0\.\.9"):
        load("fashion-mnist", root=root)


# -- download -----------------------------------------------------------------------------------


class _Server:
    def __init__(self, files: dict[str, bytes]):
        self.files = dict(files)
        self.requests: list[str] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                outer.requests.append(self.path)
                body = outer.files.get(self.path.rsplit("/", 1)[-1])
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/fmnist/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


@pytest.fixture
def server(fake, monkeypatch):
    srv = _Server(fake.gz)
    monkeypatch.setenv(fake.spec.url_env, srv.url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    yield srv
    srv.close()


def test_no_download_unless_asked(fake, server):
    with pytest.raises(FileNotFoundError):
        load("fashion-mnist")
    assert server.requests == []


def test_download_into_cache_then_reuse(fake, server):
    _check(fake, "train", *load("fashion-mnist", download=True))
    assert sorted(server.requests) == [
        "/fmnist/train-images-idx3-ubyte.gz",
        "/fmnist/train-labels-idx1-ubyte.gz",
    ]
    assert (fake.cache / "train-images-idx3-ubyte.gz").read_bytes() == fake.gz[
        "train-images-idx3-ubyte.gz"
    ]
    _check(fake, "train", *load("fashion-mnist", download=True))
    _check(fake, "train", *load("fashion-mnist"))
    assert len(server.requests) == 2  # found in the cache, not fetched again


def test_download_into_root_only_missing_files(fake, server, tmp_path):
    root = fake.install(tmp_path / "root", ["t10k-labels-idx1-ubyte.gz"])
    _check(fake, "test", *load("fashion-mnist", "test", root=root, download=True))
    assert server.requests == ["/fmnist/t10k-images-idx3-ubyte.gz"]
    assert (root / "t10k-images-idx3-ubyte.gz").is_file()
    assert not fake.cache.exists()


def test_download_wrong_pinned_hash_fails_and_leaves_nothing(fake, server, monkeypatch):
    _respec(fake, monkeypatch, "test", images={"download_sha256": "0" * 64})
    with pytest.raises(ValueError, match=r"t10k-images-idx3-ubyte.gz: download from .* failed"):
        load("fashion-mnist", "test", download=True)
    assert not (fake.cache / "t10k-images-idx3-ubyte.gz").exists()


def test_download_server_content_differs_from_pin(fake, server):
    server.files["train-labels-idx1-ubyte.gz"] = gzip.compress(b"not what was pinned")
    with pytest.raises(ValueError, match=r"train-labels-idx1-ubyte.gz: download from"):
        load("fashion-mnist", download=True)
    assert not (fake.cache / "train-labels-idx1-ubyte.gz").exists()


def test_download_http_error(fake, server):
    del server.files["t10k-labels-idx1-ubyte.gz"]
    with pytest.raises(OSError, match=r"^t10k-labels-idx1-ubyte.gz: download from http://127.*404"):
        load("fashion-mnist", "test", download=True)
    assert not (fake.cache / "t10k-labels-idx1-ubyte.gz").exists()


# -- arguments ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"name": "mnist"}, ValueError, "^name: expected one of 'fashion-mnist'"),
        ({"name": "fashion-mnist", "split": "val"}, ValueError, "^split: "),
        ({"name": "fashion-mnist-mini", "split": "colombo-train"}, ValueError, "^split: "),
        ({"name": "fashion-mnist", "split": "colombo-test"}, TypeError, "^seed: "),
        ({"name": "fashion-mnist-mini", "seed": 0}, ValueError, "^seed: "),
        ({"name": "fashion-mnist", "download": "yes"}, TypeError, "^download: "),
    ],
)
def test_bad_arguments(fake, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        load(**kwargs)


def test_colombo_splits_through_load(fake, tmp_path, monkeypatch):
    from bnnlab.data import _catalog, colombo_split

    root = fake.install(tmp_path / "root")
    monkeypatch.setattr(_catalog, "COLOMBO_N_TEST", 10)
    x, y = fake.arrays["train"]
    want = colombo_split(x, y, seed=3, n_test=10)
    xt, yt = load("fashion-mnist", "colombo-train", root=root, seed=3)
    xv, yv = load("fashion-mnist", "colombo-test", root=root, seed=3)
    assert xt.shape == (N_TRAIN - 10, 28, 28) and xv.shape == (10, 28, 28)
    for got, expected in zip((xt, yt, xv, yv), want, strict=True):
        assert (got == expected).all()


def test_verified_arrays_are_reused_but_a_changed_file_is_not(fake, tmp_path, monkeypatch):
    root = fake.install(tmp_path / "root")
    calls = []
    real = _fashion.idx_from_bytes

    def counting(raw, source, *, ndim):
        calls.append(Path(source).name)
        return real(raw, source, ndim=ndim)

    monkeypatch.setattr(_fashion, "idx_from_bytes", counting)
    x1, _ = load("fashion-mnist", root=root)
    x1[0, 0, 0] ^= 0xFF  # the caller's copy, not the cached array
    x2, _ = load("fashion-mnist", root=root)
    assert len(calls) == 2  # images and labels decoded once
    _check(fake, "train", x2, load("fashion-mnist", root=root)[1])
    bad = _corrupt(fake, root, "train-images-idx3-ubyte.gz")  # same size, same second
    with pytest.raises(ValueError, match="SHA-256"):
        load("fashion-mnist", root=root)
    assert calls[-1] == bad.name


def test_download_never_replaces_a_corrupt_local_file(fake, server):
    bad = _corrupt(fake, fake.cache, "train-images-idx3-ubyte.gz")
    before = bad.read_bytes()
    with pytest.raises(ValueError, match="SHA-256"):
        load("fashion-mnist", download=True)
    assert bad.read_bytes() == before
    assert server.requests == ["/fmnist/train-labels-idx1-ubyte.gz"]  # only the missing file


# -- the learner datasets: bnnlab.data.load_binary / binary_info -------------------------------


def test_load_binary_fashion_is_the_colombo_split_binarised(fake, tmp_path, monkeypatch):
    from bnnlab.data import _catalog, binary_info, colombo_split, global_median, load_binary

    root = fake.install(tmp_path / "root")
    monkeypatch.setattr(_catalog, "COLOMBO_N_TEST", 10)
    x, y = fake.arrays["train"]
    xt, yt, xv, yv = colombo_split(x, y, seed=7, n_test=10)
    bt, median = global_median(xt)
    want = (bt, yt, global_median(xv, median=median)[0], yv)
    got = load_binary("fashion-mnist", 7, root=root)
    for g, w in zip(got, want, strict=True):
        assert g.dtype == w.dtype and np.array_equal(g, w)
    assert got[0].dtype == np.int8 and set(np.unique(got[0])) <= {-1, 1}
    info = binary_info("fashion-mnist")
    assert (info.n_train, info.n_test) == (N_TRAIN - 10, 10)
    assert info.shape == (got[0].shape[1], 10) and info.seeded
    other = load_binary("fashion-mnist", 8, root=root)
    assert not np.array_equal(other[1], got[1])  # the data seed moves the split


def test_load_binary_matches_binary_info_without_files():
    from bnnlab.data import binary_datasets, binary_info, load_binary

    assert binary_datasets() == ["fashion-mnist", "fashion-mnist-mini", "prototypes"]
    for name in ("fashion-mnist-mini", "prototypes"):
        info = binary_info(name)
        xtr, ytr, xte, yte = load_binary(name, 1)
        assert (xtr.shape, xte.shape) == ((info.n_train, info.n_features),
                                          (info.n_test, info.n_features))  # fmt: skip
        assert xtr.dtype == np.int8 and ytr.dtype == np.int64 and yte.dtype == np.int64
        assert int(max(ytr.max(), yte.max())) + 1 == info.n_classes
        again = load_binary(name, 2)
        assert np.array_equal(again[0], xtr) == (not info.seeded)


@pytest.mark.parametrize(
    ("args", "exc", "match"),
    [
        (("mnist", 0), ValueError, "^name: expected one of 'fashion-mnist'"),
        (("prototypes", -1), ValueError, "^seed: expected an integer >= 0"),
        (("prototypes", None), TypeError, "^seed: expected an integer"),
        (("fashion-mnist-mini", 0, 5), TypeError, "^root: expected a path"),
    ],
)
def test_load_binary_bad_arguments(args, exc, match):
    from bnnlab.data import load_binary

    with pytest.raises(exc, match=match):
        load_binary(*args)
