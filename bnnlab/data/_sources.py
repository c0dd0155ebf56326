"""Where dataset files are looked for, and the opt-in, hash-pinned download.

Search order for a dataset stored in a directory named ``dirname`` (e.g. ``"fashion-mnist"``):

1. the explicit ``root`` argument (the files directly in it);
2. ``$BNNLAB_DATA/<dirname>``, then ``$BNNLAB_DATA`` itself;
3. the user cache directory, ``platformdirs.user_cache_dir("bnnlab")/<dirname>``;
4. system directories of the dataset (Debian: ``/usr/share/datasets/<dirname>``).

Nothing is downloaded unless asked; a download goes through pooch, which checks the pinned SHA-256
of the file before moving it into place (a failed or mismatching download leaves nothing behind).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

import platformdirs

ENV_DATA = "BNNLAB_DATA"


def cache_dir(dirname: str) -> Path:
    """The user cache directory of a dataset: ``user_cache_dir("bnnlab")/<dirname>``."""
    return Path(platformdirs.user_cache_dir("bnnlab")) / dirname


def search_dirs(
    dirname: str, root: str | os.PathLike[str] | None, system_dirs: Sequence[str | Path]
) -> list[tuple[str, Path]]:
    """The directories to search, in order, each with a label saying where it came from."""
    dirs: list[tuple[str, Path]] = []
    if root is not None:
        dirs.append(("root argument", Path(root)))
    env = os.environ.get(ENV_DATA)
    if env:
        dirs.append((f"${ENV_DATA}", Path(env) / dirname))
        dirs.append((f"${ENV_DATA}", Path(env)))
    dirs.append(("user cache", cache_dir(dirname)))
    dirs.extend(("system", Path(d)) for d in system_dirs)
    return dirs


def locate(filename: str, dirs: Sequence[tuple[str, Path]]) -> Path | None:
    """First existing ``<dir>/<filename>`` or ``<dir>/<filename without .gz>`` in search order."""
    names = [filename]
    if filename.endswith(".gz"):
        names.append(filename[: -len(".gz")])
    for _, d in dirs:
        for name in names:
            candidate = d / name
            if candidate.is_file():
                return candidate
    return None


def download_dir(dirname: str, root: str | os.PathLike[str] | None) -> Path:
    """Where ``download=True`` stores files: ``root``, else ``$BNNLAB_DATA/<dirname>``, else the
    user cache directory."""
    if root is not None:
        return Path(root)
    env = os.environ.get(ENV_DATA)
    if env:
        return Path(env) / dirname
    return cache_dir(dirname)


def download(url: str, sha256: str, dest: Path) -> Path:
    """Download ``url`` to ``dest`` with pooch, verifying the pinned SHA-256 of the downloaded bytes.

    Raises
    ------
    ValueError
        If the downloaded file's hash differs from ``sha256`` (pooch removes the download).
    OSError
        On network or HTTP failures (nothing is left at ``dest``).
    """
    import pooch

    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        path = pooch.retrieve(
            url,
            known_hash=f"sha256:{sha256}",
            fname=dest.name,
            path=dest.parent,
            progressbar=sys.stderr.isatty(),
        )
    except ValueError as exc:
        raise ValueError(f"{dest.name}: download from {url} failed verification: {exc}") from exc
    except OSError as exc:  # includes requests' network and HTTP errors
        raise OSError(f"{dest.name}: download from {url} failed: {exc}") from exc
    return Path(path)
