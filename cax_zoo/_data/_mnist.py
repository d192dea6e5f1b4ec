"""MNIST (LeCun, Cortes & Burges): the four standard IDX files, read strictly.

Reads ``$CAX_ZOO_DATA/mnist/*.gz`` if present, else downloads the public originals into
``$CAX_ZOO_CACHE/mnist`` (default ``~/.cache/cax_zoo/mnist``) through
:mod:`cax_zoo._data._files`. Every file is decompressed as a stream capped at its known
size, then its bytes are checked against the canonical md5 sums; bad magic numbers, wrong
sizes, truncated files and gzip bombs raise :class:`~cax_zoo.DataError`.
"""

from __future__ import annotations

import hashlib
import math
import os
from pathlib import Path

import numpy as np

from .._errors import DataError
from ._files import cache_folder, download, find_folder, gunzip, read_bytes

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


SIZES = {  # of the decompressed IDX files: header + data
    "train-images-idx3-ubyte.gz": 16 + 60000 * 28 * 28,
    "train-labels-idx1-ubyte.gz": 8 + 60000,
    "t10k-images-idx3-ubyte.gz": 16 + 10000 * 28 * 28,
    "t10k-labels-idx1-ubyte.gz": 8 + 10000,
}
MAX_IDX_BYTES = 1 << 26
"""Largest decompressed IDX file :func:`read_idx` accepts by default (64 MiB)."""
MAX_GZ_BYTES = 1 << 26
"""Largest compressed file read (the MNIST training images are 9.9 MB)."""


def data_folder(data: str | os.PathLike | None = None) -> Path:
    """The folder holding the MNIST files: ``data`` (a folder with the .gz files or with an
    ``mnist/`` subfolder), else ``$CAX_ZOO_DATA/mnist``, else the download cache. A folder
    holding only some of the four files is an error naming the missing ones."""
    folder = find_folder("mnist", FILES.values(), data, label="MNIST")
    return folder if folder is not None else cache_folder("mnist")


def _download(folder: Path, filename: str) -> None:
    def verify(payload: bytes) -> str | None:
        try:
            raw = gunzip(payload, max_bytes=SIZES[filename], what=filename)
        except DataError as e:
            return str(e)
        if hashlib.md5(raw).hexdigest() != MD5[filename]:
            return "checksum mismatch"
        return None

    download([m + filename for m in MIRRORS], folder / filename, max_bytes=MAX_GZ_BYTES,
             verify=verify, what=f"MNIST file {filename}",
             hint="or set CAX_ZOO_DATA to a folder with mnist/")


def read_idx(path: str | os.PathLike, *, expected_md5: str | None = None,
             max_bytes: int = MAX_IDX_BYTES) -> np.ndarray:
    """Read one gzip IDX file (unsigned-byte data) strictly. The file is decompressed as a
    stream and refused once it exceeds ``max_bytes`` (a gzip bomb) before any check runs."""
    path = Path(path)
    payload = read_bytes(path, max_bytes=MAX_GZ_BYTES, what="MNIST file")
    raw = gunzip(payload, max_bytes=max_bytes, what=str(path))
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
    size = math.prod(shape)
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
        arr = read_idx(folder / filename, expected_md5=MD5[filename] if verify else None,
                       max_bytes=SIZES[filename] if verify else MAX_IDX_BYTES)
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
