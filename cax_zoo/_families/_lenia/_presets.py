"""Lenia's registered creatures: Chan's catalogue (``lenia/orbium``, ...), his tutorial's
Tessellatium, and CAX's stored patterns (``lenia/5n7kkm``, ``lenia/cax_orbium``, ...)."""

from __future__ import annotations

from typing import Any

from ..._data import _cax_lenia as cax
from ..._data import _lenia_catalogue as catalogue
from ..._registry import register
from ._eval import evaluate_creature
from ._model import Lenia

CREATURES: dict[str, dict[str, Any]] = {
    "orbium": {"code": "O2u", "dims": 2, "size": 128},
    "orbium_bicaudatus": {"code": "O2b", "dims": 2, "size": 128},
    "gyrorbium": {"code": "OG2g", "dims": 2, "size": 128},
    "scutium": {"code": "S1s", "dims": 2, "size": 128},
    "hydrogeminium": {"code": "3GH2n", "dims": 2, "size": 128},
    "life_glider": {"code": "~gldr", "dims": 2, "size": 32},
    "sphaerome": {"code": "1Sp1l", "dims": 3, "size": 64},
    "diguttome": {"code": "4Gu2s", "dims": 3, "size": 64},
    "tessellatium": {"code": "VT049W", "dims": 2, "size": 128, "builtin": True},
    "5n7kkm": {"cax": "5N7KKM", "dims": 2, "size": 128},
    "5n7kkm_gyrating": {"cax": "5N7KKM_gyrating", "dims": 2, "size": 128},
    "5n7kkm_twin": {"cax": "5N7KKM_twin", "dims": 2, "size": 128},
    "cax_vt049w": {"cax": "VT049W", "dims": 2, "size": 128},
    "cax_orbium": {"cax": "Orbium", "dims": 2, "size": 128},
    "cax_gyrorbium": {"cax": "Gyrorbium", "dims": 2, "size": 128},
}
"""Registered creatures: registry name ``lenia/<key>`` -> catalogue code (``code``) or CAX
pattern name (``cax``), dimension and default grid side."""

DESCRIPTIONS = {
    "orbium": "Orbium unicaudatus (O2u), Lenia's archetypal glider",
    "orbium_bicaudatus": "Orbium bicaudatus (O2b), the two-tailed Orbium",
    "gyrorbium": "Gyrorbium gyrans (OG2g), an Orbium that turns in circles",
    "scutium": "Scutium solidus (S1s), a shield-shaped glider",
    "hydrogeminium": "Hydrogeminium natans (3GH2n), a three-ring-kernel creature",
    "life_glider": "Conway's glider in Lenia's Game-of-Life rule (R=2, staircase kernel)",
    "sphaerome": "Sphaerome lithos (1Sp1l), a 3-D sphere",
    "diguttome": "Diguttome saliens (4Gu2s), a 3-D four-ring creature",
    "tessellatium": "Tessellatium gyrans (VT049W, Chan's \"aquarium\"): 3 channels, 15 kernels; divides in two under its own rule",
    "5n7kkm": "CAX's default Lenia creature 5N7KKM: 3 channels, 15 kernels, R=12, T=2, state_scale 2",
    "5n7kkm_gyrating": "CAX's 5N7KKM_gyrating: 5N7KKM's rule with a turning pattern",
    "5n7kkm_twin": "CAX's 5N7KKM_twin: 5N7KKM's rule with a two-bodied pattern",
    "cax_vt049w": "CAX's VT049W: Tessellatium gyrans's rule and cells as CAX runs them (state_scale 2, R=12, T=2)",
    "cax_orbium": "CAX's Orbium: other cells than Chan's (mass 75.10), Gaussian kernel core and growth (R=13, T=10)",
    "cax_gyrorbium": "CAX's Gyrorbium (its notebook's rotator): polynomial kernel, Gaussian growth (R=13, T=10)",
}


def creature(name: str, *, data: Any = None) -> catalogue.Creature:
    """The creature behind the preset ``lenia/<name>`` (catalogue, package data or CAX's
    patterns file)."""
    spec = CREATURES[name]
    if spec.get("builtin"):
        return catalogue.tessellatium_gyrans()
    if "cax" in spec:
        return cax.load_cax_pattern(spec["cax"], data=data)
    return catalogue.find_creature(spec["code"], dims=spec["dims"], data=data)


def _creature_factory(name: str):
    spec = CREATURES[name]

    def factory(**overrides: Any) -> Lenia:
        c = creature(name)
        overrides.setdefault("default_size", (spec["size"],) * c.num_spatial_dims)
        return Lenia.from_creature(c, **overrides)

    factory.__name__ = f"lenia_{name}"
    return factory


for _name, _spec in CREATURES.items():
    register(f"lenia/{_name}", description=DESCRIPTIONS[_name],
             tags=("continuous", "creature", f"{_spec['dims']}d") + (("cax",) if "cax" in _spec else ()),
             paper="Chan 2019, Lenia: Biology of Artificial Life" if "cax" not in _spec else
             "Faldor & Cully 2025, CAX: Cellular Automata Accelerated in JAX (ICLR 2025)",
             evaluate=evaluate_creature)(_creature_factory(_name))
