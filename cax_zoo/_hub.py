"""Hugging Face Hub: push a released model folder, resolve a repo id through the Hub cache.

Resolution goes through ``huggingface_hub.snapshot_download``, so the standard cache
(``$HF_HUB_CACHE``) and ``HF_HUB_OFFLINE=1`` behave as in every other Hub library.
"""

from __future__ import annotations

import os
from pathlib import Path

from ._errors import HubError, WeightsError
from ._registry import get_entry, load_pretrained, pretrained_folder
from ._weights import CARD_FILE, CONFIG_FILE, WEIGHTS_FILE

HUB_FILES = [WEIGHTS_FILE, CONFIG_FILE, CARD_FILE]


def download(repo_id: str, *, revision: str | None = None, cache_dir: str | None = None) -> Path:
    """The local snapshot folder of ``repo_id`` at ``revision`` (downloaded if needed and
    allowed; served from the cache under ``HF_HUB_OFFLINE=1``)."""
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
    if not (folder / CONFIG_FILE).is_file() or not (folder / WEIGHTS_FILE).is_file():
        raise WeightsError(f"Hub repo {repo_id!r} has no {CONFIG_FILE} and {WEIGHTS_FILE}")
    return folder


def push_to_hub(
    name_or_folder: str | os.PathLike,
    repo_id: str,
    *,
    token: str | None = None,
    private: bool | None = None,
    revision: str | None = None,
    commit_message: str | None = None,
    api=None,
) -> str:
    """Upload a released model (``weights/<name>/``) or any saved folder to ``repo_id``.

    The folder is checked first (its three files exist and it loads), so a broken model
    is never uploaded. Returns the commit URL. ``api`` is a ``huggingface_hub.HfApi``.
    """
    from huggingface_hub import HfApi

    folder = _resolve_folder(name_or_folder)
    missing = [f for f in HUB_FILES if not (folder / f).is_file()]
    if missing:
        raise WeightsError(f"{folder} lacks {', '.join(missing)}; nothing was uploaded")
    load_pretrained(folder)  # raises on a corrupt folder
    from huggingface_hub.errors import HfHubHTTPError

    api = api or HfApi(token=token)
    try:
        api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")
        info = api.upload_folder(
            folder_path=str(folder),
            repo_id=repo_id,
            repo_type="model",
            revision=revision,
            allow_patterns=HUB_FILES,
            commit_message=commit_message or f"Upload {folder.name} with cax_zoo",
        )
    except (HfHubHTTPError, OSError) as e:
        raise HubError(f"upload of {folder} to {repo_id!r} failed: {_first_line(e)}") from None
    return str(getattr(info, "commit_url", info))


def _resolve_folder(name_or_folder: str | os.PathLike) -> Path:
    as_path = Path(name_or_folder)
    if as_path.is_dir():
        return as_path
    name = str(name_or_folder)
    get_entry(name)  # unknown names raise with suggestions
    folder = pretrained_folder(name)
    if folder is None:
        raise WeightsError(f"{name!r} has no released weights folder to push")
    return folder


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__
