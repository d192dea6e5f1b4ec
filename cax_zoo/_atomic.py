"""Writing files so that nothing a user saved is lost: one atomic writer, one check of
output paths before any work, and one lock per output folder.

Every output (GIF, PNG, NPZ, JSON, weights, checkpoints, cards, manifests) goes through
:func:`atomic_write` / :func:`atomic_write_bytes`: the data is written to a temporary file
beside the target, flushed to disk, then moved over the target with ``os.replace``. A
reader never sees a half-written file, a run killed mid-write leaves the old file as it
was, and a symlink at the target is replaced by the new file, never written through.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from ._errors import ConfigError

LOCK_FILE = ".cax_zoo.lock"


def _publish(tmp: str, path: Path) -> None:
    """Give a finished temporary file the usual permissions and move it into place."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    os.replace(tmp, path)


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike) -> Iterator[Path]:
    """Context manager: yields a temporary path beside ``path``; a writer (PIL, numpy,
    safetensors) fills it, and on a clean exit it is synced and moved onto ``path``. On an
    error the temporary file is removed and ``path`` is untouched."""
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"output {path} is a folder, not a file")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        _publish(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temporary file, fsync, ``os.replace``)."""
    path = Path(path)
    with atomic_write(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def check_output_file(path: str | os.PathLike, *, what: str = "--out",
                      suffixes: Iterable[str] | None = None) -> Path:
    """Check, before any work, that a file can be written at ``path``: its folder exists
    and is a folder, the path is not a folder, and (if given) it ends in one of ``suffixes``."""
    path = Path(path)
    if suffixes is not None:
        suffixes = tuple(suffixes)
        if path.suffix.lower() not in suffixes:
            listed = ", ".join(suffixes[:-1]) + " or " + suffixes[-1] if len(suffixes) > 1 else suffixes[0]
            raise ConfigError(f"{what} must end in {listed}, got {path.name!r}")
    parent = path.parent
    if not parent.exists():
        raise ConfigError(f"{what}: folder {parent} does not exist")
    if not parent.is_dir():
        raise ConfigError(f"{what}: {parent} is not a folder")
    if path.is_dir():
        raise ConfigError(f"{what}: {path} is a folder, not a file")
    if not os.access(parent, os.W_OK):
        raise ConfigError(f"{what}: folder {parent} is not writable")
    return path


def check_output_folder(folder: str | os.PathLike, *, what: str = "--out") -> Path:
    """Check, before any work, that ``folder`` is (or can be made) a writable folder, and
    make it. A path that is an existing file, or lies under one, is refused."""
    folder = Path(folder)
    for p in (folder, *folder.parents):
        if p.exists():
            if not p.is_dir():
                raise ConfigError(f"{what}: {p} is a file, not a folder")
            break
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ConfigError(f"{what}: cannot create folder {folder}: {e.strerror or e}") from None
    if not os.access(folder, os.W_OK):
        raise ConfigError(f"{what}: folder {folder} is not writable")
    return folder


class FolderLock:
    """An exclusive lock on an output folder (``fcntl.flock`` on a lock file inside it),
    held until :meth:`release` or process exit, so two runs cannot write the same folder.
    The kernel drops the lock when the process dies, so a killed run never leaves a stale one."""

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)
        self._fd: int | None = None

    def acquire(self) -> "FolderLock":
        import fcntl

        self.folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.folder / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            os.close(fd)
            if e.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise ConfigError(
                    f"another run is writing to {self.folder} (it holds {LOCK_FILE}); wait for it "
                    "or choose another --out"
                ) from None
            raise
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            import fcntl

            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def __enter__(self) -> "FolderLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
