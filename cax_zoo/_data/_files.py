"""Dataset files: "a local folder, else a verified download into a cache", read with bounds.

Every dataset module (MNIST, 1D-ARC, the Lenia catalogue) finds its files the same way:
a folder the caller names, else ``$CAX_ZOO_DATA/<name>``, else ``$CAX_ZOO_CACHE/<name>``
(default ``~/.cache/cax_zoo/<name>``), downloading there on first use. Downloads stream
into a temporary file with a size cap, are checked against a pinned digest and only then
moved into place with ``os.replace``, so the cache never holds a partial or unverified
file. Reads refuse what is not a regular file (a directory, ``/dev/zero``, a FIFO) and
anything larger than the caller's bound; gzip is decompressed as a stream with an output
cap, so a gzip bomb is refused after ``max_bytes`` rather than filling memory.
"""

from __future__ import annotations

import hashlib
import os
import stat
import urllib.request
import zlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from .._atomic import atomic_write_bytes
from .._errors import DataError
from .._validation import parse_json

CHUNK = 1 << 20


def cache_folder(name: str) -> Path:
    """``$CAX_ZOO_CACHE/<name>`` (default ``~/.cache/cax_zoo/<name>``)."""
    return Path(os.environ.get("CAX_ZOO_CACHE", Path.home() / ".cache" / "cax_zoo")) / name


def find_folder(name: str, filenames: Iterable[str], data: str | os.PathLike | None = None, *,
                label: str | None = None) -> Path | None:
    """The local folder holding every one of ``filenames``: ``data`` or ``data/<name>`` when
    ``data`` is given (an error if neither holds them), else ``$CAX_ZOO_DATA/<name>``; None
    when the files must come from the cache.

    A folder that holds only some of the files is an error naming the missing ones (a
    half-copied dataset would otherwise be silently replaced by a download).
    """
    filenames = tuple(filenames)
    label = label or name
    if data is not None:
        candidates = [Path(data), Path(data) / name]
    elif os.environ.get("CAX_ZOO_DATA"):
        candidates = [Path(os.environ["CAX_ZOO_DATA"]) / name]
    else:
        return None
    for folder in candidates:
        if all((folder / f).exists() for f in filenames):
            return folder
    for folder in candidates:
        missing = [f for f in filenames if not (folder / f).exists()]
        if len(missing) < len(filenames):
            raise DataError(f"{folder} holds only part of {label}: missing {', '.join(missing)}")
    if data is not None:
        raise DataError(f"no {label} files ({', '.join(filenames)}) in {data} or {Path(data) / name}")
    return None


def _regular_file(path: Path, what: str) -> os.stat_result:
    try:
        info = path.stat()
    except FileNotFoundError:
        raise DataError(f"{what} not found: {path}") from None
    except OSError as e:
        raise DataError(f"cannot read {what} {path}: {e.strerror or e}") from None
    if not stat.S_ISREG(info.st_mode):
        kind = "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file"
        raise DataError(f"{what} {path} is {kind}")
    return info


def read_bytes(path: str | os.PathLike, *, max_bytes: int, what: str = "data file") -> bytes:
    """The bytes of a regular file of at most ``max_bytes`` bytes, else a DataError."""
    path = Path(path)
    info = _regular_file(path, what)
    if info.st_size > max_bytes:
        raise DataError(f"{what} {path} is {info.st_size} bytes; the limit is {max_bytes}")
    try:
        with open(path, "rb") as f:
            raw = f.read(max_bytes + 1)
    except OSError as e:
        raise DataError(f"cannot read {what} {path}: {e.strerror or e}") from None
    if len(raw) > max_bytes:  # grew while we read it
        raise DataError(f"{what} {path} is larger than the limit of {max_bytes} bytes")
    return raw


def gunzip(payload: bytes, *, max_bytes: int, what: str) -> bytes:
    """Decompress one gzip member as a stream, refusing output beyond ``max_bytes`` (a gzip
    bomb) and truncated or corrupt input."""
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out = bytearray()
    data = payload
    try:
        while data:
            out += d.decompress(data, max_bytes + 1 - len(out))
            if len(out) > max_bytes:
                raise DataError(f"{what} decompresses to more than {max_bytes} bytes (a corrupt file or a gzip bomb)")
            data = d.unconsumed_tail
        out += d.flush()
    except zlib.error as e:
        raise DataError(f"{what} is not a valid gzip file (truncated or corrupt): {e}") from None
    if not d.eof:
        raise DataError(f"{what} is not a valid gzip file (truncated or corrupt): the stream ends early")
    if len(out) > max_bytes:
        raise DataError(f"{what} decompresses to more than {max_bytes} bytes (a corrupt file or a gzip bomb)")
    return bytes(out)


def digest(payload: bytes, algorithm: str) -> str:
    return hashlib.new(algorithm, payload).hexdigest()


def digest_mismatch(payload: bytes, expected: str, algorithm: str = "sha256") -> str | None:
    """None if ``payload`` has the pinned digest, else a short reason (a ``verify`` for
    :func:`download`)."""
    got = digest(payload, algorithm)
    return None if got == expected else f"fails its {algorithm} check (got {got[:16]}..., expected {expected[:16]}...)"


def read_json(path: str | os.PathLike, *, max_bytes: int, what: str, sha256: str | None = None) -> Any:
    """A bounded JSON file (:func:`read_bytes`), checked against its pinned ``sha256``
    when given, parsed strictly (:func:`cax_zoo._validation.parse_json`): every failure a
    one-line DataError naming ``what`` and the file."""
    raw = read_bytes(path, max_bytes=max_bytes, what=what)
    reason = None if sha256 is None else digest_mismatch(raw, sha256)
    if reason is not None:
        raise DataError(f"{what} {path} {reason}: the file is corrupt or not the expected one")
    return parse_json(raw, what=f"{what} {path}", error=DataError)


def download(
    urls: Iterable[str],
    dest: str | os.PathLike,
    *,
    max_bytes: int,
    verify: Callable[[bytes], str | None],
    what: str,
    hint: str = "",
    timeout: float = 120.0,
) -> Path:
    """Download the first of ``urls`` that passes ``verify`` into ``dest``, atomically.

    Each response streams into memory up to ``max_bytes`` (a larger one is refused);
    ``verify(payload)`` returns None if the bytes are right, else a short reason (a digest
    mismatch, say), and the next mirror is tried. The verified bytes are written to a
    temporary file beside ``dest`` and moved into place with ``os.replace``. If no mirror
    serves the right bytes, a DataError lists each mirror's failure, then ``hint``.
    """
    dest = Path(dest)
    errors = []
    for url in urls:
        try:
            payload = fetch(url, max_bytes=max_bytes, timeout=timeout)
        except (OSError, ValueError) as e:
            errors.append(f"{url}: {e}")
            continue
        reason = verify(payload)
        if reason is not None:
            errors.append(f"{url}: {reason}")
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(dest, payload)
        return dest
    raise DataError(f"could not download {what}: " + "; ".join(errors) + (f" ({hint})" if hint else ""))


def fetch(url: str, *, max_bytes: int, timeout: float = 120.0) -> bytes:
    """The body of ``url``, streamed and refused (ValueError) beyond ``max_bytes``; network
    failures raise OSError."""
    chunks, total = [], 0
    with urllib.request.urlopen(url, timeout=timeout) as r:
        length = r.headers.get("Content-Length")
        if length is not None and length.isdigit() and int(length) > max_bytes:
            raise ValueError(f"{length} bytes, more than the limit of {max_bytes} bytes")
        while True:
            chunk = r.read(CHUNK)
            if not chunk:
                break
            total += len(chunk)
            if total > max_bytes:
                raise ValueError(f"more than the limit of {max_bytes} bytes")
            chunks.append(chunk)
    return b"".join(chunks)
