"""Test set-up: offline Hub with a private cache, and the shared datasets folder."""

import os
import tempfile
from pathlib import Path

# Before anything imports huggingface_hub: no network, and a cache the tests populate.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ["HF_HUB_CACHE"] = tempfile.mkdtemp(prefix="cax_zoo_hf_cache_")
os.environ.setdefault("CAX_ZOO_DATA", str(Path(__file__).resolve().parents[1].parent / "shared" / "datasets"))

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The datasets folder ($CAX_ZOO_DATA); CI provides it, so its absence is a failure."""
    path = Path(os.environ["CAX_ZOO_DATA"])
    assert path.is_dir(), f"CAX_ZOO_DATA={path} does not exist; point it at the shared datasets"
    return path


@pytest.fixture(scope="session")
def hf_cache() -> Path:
    return Path(os.environ["HF_HUB_CACHE"])


@pytest.fixture(autouse=True, scope="module")
def release_compiled_code():
    """Free each test module's compiled XLA code when the module ends. One process running
    the whole suite otherwise keeps tens of thousands of executables, each holding a few
    memory mappings, and reaches Linux's per-process limit (vm.max_map_count, 65,530),
    where the next compilation crashes the interpreter."""
    yield
    import gc

    import jax

    jax.clear_caches()
    gc.collect()
