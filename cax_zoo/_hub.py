"""Hugging Face Hub transport: fetch a repo snapshot through the Hub cache, upload a folder.

This layer knows files, not models (it imports no registry): the pretrained layer
(``_pretrained.py``) checks what a folder holds before uploading and rebuilds models from
what is downloaded. Resolution goes through ``huggingface_hub.snapshot_download``, so the
standard cache (``$HF_HUB_CACHE``) and ``HF_HUB_OFFLINE=1`` behave as in every other Hub
library. What comes back is checked: the repo id and revision are validated before any
call, every resolved file must lie inside the repo's cache folder, and a file stored as a
content-addressed blob must hash to its blob name.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Sequence
from pathlib import Path

from ._errors import HubError, WeightsError
from ._weights import CARD_FILE, CONFIG_FILE, WEIGHTS_FILE, sha256_file

HUB_FILES = [WEIGHTS_FILE, CONFIG_FILE, CARD_FILE]
MEDIA_PATTERNS = ["*.gif", "*.png"]  # figures a release folder may carry (uploaded, not needed to load)
HUB_PREFIX = "hf://"

_REPO_PART = r"[A-Za-z0-9](?:[A-Za-z0-9_.\-]{0,94}[A-Za-z0-9])?"
_REPO_ID = re.compile(rf"^{_REPO_PART}/{_REPO_PART}$")
_COMMIT = re.compile(r"^[0-9a-f]{40}$")
_REF = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*(/[A-Za-z0-9_][A-Za-z0-9_.\-]*)*$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_GIT_SHA1 = re.compile(r"^[0-9a-f]{40}$")


def check_repo_id(repo_id: object) -> str:
    """``repo_id`` if it is ``namespace/name`` in the Hub's alphabet; else HubError."""
    if not isinstance(repo_id, str) or not _REPO_ID.match(repo_id) or ".." in repo_id or "--" in repo_id \
            or repo_id.endswith(".git"):
        shown = repr(repo_id)[:80]
        raise HubError(f"invalid Hub repo id {shown}: expected namespace/name (letters, digits, '-', "
                       "'_', '.'; no '..' or '--')")
    return repo_id


def check_revision(revision: object) -> str | None:
    """``revision`` if it is None, a 40-hex commit, or a branch/tag name (``main``, ``v1.0``,
    ``refs/pr/1``) with no ``..`` or leading/trailing ``/``; else HubError."""
    if revision is None:
        return None
    if not isinstance(revision, str) or len(revision) > 255 or not (
            _COMMIT.match(revision) or (_REF.match(revision) and ".." not in revision
                                        and not revision.endswith((".lock", "."))
                                        and "@{" not in revision)):
        raise HubError(f"invalid Hub revision {repr(revision)[:80]}: expected a branch or tag name "
                       "or a 40-hex commit")
    return revision


def _cache_root(cache_dir: str | os.PathLike | None) -> Path:
    if cache_dir is not None:
        return Path(cache_dir)
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def _git_blob_sha1(path: Path) -> str:
    h = hashlib.sha1()
    h.update(f"blob {path.stat().st_size}\0".encode())
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def verify_snapshot(folder: Path, repo_folder: Path, repo_id: str) -> dict[str, bool]:
    """Check each file of a snapshot: it resolves to a regular file inside ``repo_folder``
    (the repo's cache folder, itself inside the cache), and a file stored as a blob named by
    its sha256 (LFS files) or its git sha1 (small files) has that hash. Returns
    ``{file: verified_by_blob_name}``."""
    repo_real = Path(os.path.realpath(repo_folder))
    cache_real = Path(os.path.realpath(repo_folder.parent))
    if cache_real not in repo_real.parents:
        raise WeightsError(f"Hub repo {repo_id!r}: its cache folder resolves outside the Hub cache ({repo_real})")
    snapshot_real = Path(os.path.realpath(folder))
    if repo_real not in snapshot_real.parents:
        raise WeightsError(f"Hub repo {repo_id!r}: the snapshot resolves outside its cache folder ({snapshot_real})")
    verified: dict[str, bool] = {}
    for name in sorted(os.listdir(folder)):
        path = folder / name
        real = Path(os.path.realpath(path))
        if repo_real != real and repo_real not in real.parents:
            raise WeightsError(f"Hub repo {repo_id!r}: {name} resolves outside the Hub cache ({real})")
        if not real.is_file():
            continue
        blob = real.name
        if path.is_symlink() and real.parent.name == "blobs":
            if _SHA256.match(blob):
                actual = sha256_file(real)
            elif _GIT_SHA1.match(blob):
                actual = _git_blob_sha1(real)
            else:
                raise WeightsError(f"Hub repo {repo_id!r}: {name} points to a blob with no hash name ({blob})")
            if actual != blob:
                raise WeightsError(
                    f"Hub repo {repo_id!r}: cached {name} fails its hash check (blob {blob[:12]}..., "
                    f"content {actual[:12]}...): the cache is corrupt or was modified; delete "
                    f"{repo_folder} and download again"
                )
            verified[name] = True
        else:
            verified[name] = False
    return verified


def download(repo_id: str, *, revision: str | None = None,
             cache_dir: str | os.PathLike | None = None) -> tuple[Path, dict[str, bool]]:
    """The local snapshot folder of ``repo_id`` at ``revision`` (downloaded if needed and
    allowed; served from the cache under ``HF_HUB_OFFLINE=1``), with which of its files were
    verified against their content-addressed blob names."""
    check_repo_id(repo_id)
    check_revision(revision)
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    try:
        path = snapshot_download(
            repo_id, revision=revision, cache_dir=cache_dir, allow_patterns=HUB_FILES,
            library_name="cax_zoo",
        )
    except LocalEntryNotFoundError as e:
        raise HubError(
            f"Hub repo {repo_id!r} (revision {revision or 'main'}) is not in the local cache and "
            f"cannot be downloaded: {_first_line(e)}"
        ) from None
    except (HfHubHTTPError, OSError, ValueError) as e:
        raise HubError(f"cannot fetch Hub repo {repo_id!r}: {_first_line(e)}") from None
    folder = Path(path)
    repo_folder = _cache_root(cache_dir) / ("models--" + repo_id.replace("/", "--"))
    verified = verify_snapshot(folder, repo_folder, repo_id)
    if not (folder / CONFIG_FILE).is_file() or not (folder / WEIGHTS_FILE).is_file():
        raise WeightsError(f"Hub repo {repo_id!r} has no {CONFIG_FILE} and {WEIGHTS_FILE}")
    return folder, verified


def upload_plan(folder: str | os.PathLike, allow_patterns: Sequence[str] = (*HUB_FILES, *MEDIA_PATTERNS)) -> list[str]:
    """The files of ``folder`` that :func:`upload_folder` uploads with ``allow_patterns``,
    sorted: the Hub client's own filter over the folder's files (no network)."""
    from huggingface_hub.utils import filter_repo_objects

    folder = Path(folder)
    names = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    return sorted(filter_repo_objects(names, allow_patterns=list(allow_patterns)))


def upload_folder(
    folder: str | os.PathLike,
    repo_id: str,
    *,
    token: str | None = None,
    private: bool | None = None,
    revision: str | None = None,
    commit_message: str | None = None,
    allow_patterns: Sequence[str] = (*HUB_FILES, *MEDIA_PATTERNS),
    api=None,
) -> str:
    """Create ``repo_id`` if needed and upload ``folder``'s files matching ``allow_patterns``.
    Returns the commit URL. ``api`` is a ``huggingface_hub.HfApi``."""
    check_repo_id(repo_id)
    check_revision(revision)
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError

    folder = Path(folder)
    api = api or HfApi(token=token)
    try:
        api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")
        info = api.upload_folder(
            folder_path=str(folder),
            repo_id=repo_id,
            repo_type="model",
            revision=revision,
            allow_patterns=list(allow_patterns),
            commit_message=commit_message or f"Upload {folder.name} with cax_zoo",
        )
    except (HfHubHTTPError, OSError, ValueError) as e:
        raise HubError(f"upload of {folder} to {repo_id!r} failed: {_first_line(e)}") from None
    return str(getattr(info, "commit_url", info))


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__
