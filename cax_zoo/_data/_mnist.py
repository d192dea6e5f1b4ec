"""MNIST (LeCun, Cortes & Burges): the four standard IDX files, read strictly.

Reads ``$CAX_ZOO_DATA/mnist/*.gz`` if present, else downloads the public originals into
``$CAX_ZOO_CACHE/mnist`` (default ``~/.cache/cax_zoo/mnist``). Every file's decompressed
bytes are checked against the canonical md5 sums; bad magic numbers, wrong sizes and
truncated files raise :class:`~cax_zoo.DataError`.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import urllib.request
import zlib
from pathlib import Path

import numpy as np

from .._errors import DataError

FILES = {
    ("train", "images"): "train-images-idx3-ubyte.gz",
    ("train", "labels"): "train-labels-idx1-ubyte.gz",
    ("test", "images"): "t10k-images-idx3-ubyte.gz",
    ("test", "labels"): "t10k-labels-idx1-ubyte.gz",
}
MD5 = {  # of the DECOMPRESSED bytes (the canonical IDX files)
    "train-images-idx3-ubyte.gz": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte.gz": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte.gz": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte.gz": "27ae3e4e09519cfbb04c329615203637",
}
COUNTS = {"train": 60000, "test": 10000}
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)


def data_folder(data: str | os.PathLike | None = None) -> Path:
    """The folder holding the MNIST files: ``data`` (a folder with the .gz files or with an
    ``mnist/`` subfolder), else ``$CAX_ZOO_DATA/mnist``, else the download cache."""
    candidates = []
    if data is not None:
        candidates += [Path(data), Path(data) / "mnist"]
    elif os.environ.get("CAX_ZOO_DATA"):
        candidates.append(Path(os.environ["CAX_ZOO_DATA"]) / "mnist")
    for c in candidates:
        if all((c / f).is_file() for f in FILES.values()):
            return c
    if data is not None:
        raise DataError(f"no MNIST files ({', '.join(FILES.values())}) in {data} or {Path(data) / 'mnist'}")
    cache = Path(os.environ.get("CAX_ZOO_CACHE", Path.home() / ".cache" / "cax_zoo")) / "mnist"
    return cache


def _download(folder: Path, filename: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    errors = []
    for mirror in MIRRORS:
        try:
            with urllib.request.urlopen(mirror + filename, timeout=60) as r:
                payload = r.read()
        except OSError as e:
            errors.append(f"{mirror}: {e}")
            continue
        try:
            raw = gzip.decompress(payload)
        except (OSError, EOFError, zlib.error):
            errors.append(f"{mirror}: not a gzip file")
            continue
        if hashlib.md5(raw).hexdigest() != MD5[filename]:
            errors.append(f"{mirror}: checksum mismatch")
            continue
        tmp = folder / f".{filename}.tmp"
        tmp.write_bytes(payload)
        os.replace(tmp, folder / filename)
        return
    raise DataError(f"could not download MNIST file {filename}: " + "; ".join(errors)
                    + " (or set CAX_ZOO_DATA to a folder with mnist/)")


def read_idx(path: str | os.PathLike, *, expected_md5: str | None = None) -> np.ndarray:
    """Read one gzip IDX file (unsigned-byte data) strictly."""
    path = Path(path)
    try:
        raw = gzip.decompress(path.read_bytes())
    except FileNotFoundError:
        raise DataError(f"MNIST file not found: {path}") from None
    except (OSError, EOFError, zlib.error) as e:
        raise DataError(f"{path} is not a valid gzip file (truncated or corrupt): {e}") from None
    if expected_md5 is not None and hashlib.md5(raw).hexdigest() != expected_md5:
        raise DataError(f"{path} fails its md5 check (expected {expected_md5}): the file is corrupt or not MNIST")
    if len(raw) < 4:
        raise DataError(f"{path}: too short for an IDX header ({len(raw)} bytes)")
    zero, dtype_code, ndim = int.from_bytes(raw[:2], "big"), raw[2], raw[3]
    if zero != 0 or dtype_code != 0x08 or ndim not in (1, 3):
        raise DataError(
            f"{path}: bad IDX magic number 0x{raw[:4].hex()} (expected 0x00000801 for labels or "
            "0x00000803 for images)"
        )
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{path}: truncated IDX header")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    size = int(np.prod(shape))
    if len(raw) - header != size:
        raise DataError(
            f"{path}: IDX header announces shape {shape} ({size} bytes) but the file holds "
            f"{len(raw) - header} bytes of data (truncated or corrupt)"
        )
    return np.frombuffer(raw, np.uint8, offset=header).reshape(shape)


def load_mnist(split: str = "train", *, data: str | os.PathLike | None = None,
               verify: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """``(images uint8 (N, 28, 28), labels uint8 (N,))`` of the ``"train"`` (60,000) or
    ``"test"`` (10,000) split."""
    if split not in COUNTS:
        raise DataError(f"unknown MNIST split {split!r}; expected 'train' or 'test'")
    folder = data_folder(data)
    out = []
    for kind in ("images", "labels"):
        filename = FILES[(split, kind)]
        if not (folder / filename).is_file():
            _download(folder, filename)
        arr = read_idx(folder / filename, expected_md5=MD5[filename] if verify else None)
        want = 3 if kind == "images" else 1
        if arr.ndim != want:
            raise DataError(f"{folder / filename}: expected {want}-D {kind}, got shape {arr.shape}")
        out.append(arr)
    images, labels = out
    if images.shape[0] != labels.shape[0] or images.shape[1:] != (28, 28):
        raise DataError(f"MNIST {split}: images {images.shape} and labels {labels.shape} do not match")
    if labels.max(initial=0) > 9:
        raise DataError(f"MNIST {split}: label {int(labels.max())} out of range 0-9")
    return images, labels
