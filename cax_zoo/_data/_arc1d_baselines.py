"""Published 1D-ARC results printed beside ours by ``cax-zoo eval arc1d_nca``.

Exact-match accuracy in percent, per task type and overall. ``None`` marks a figure we
could not verify from its source; only figures copied from the cited publication belong
here (the source of each table is in ``SOURCES``).
"""

from __future__ import annotations

from ._arc1d import TASK_TYPES

SOURCES = {
    "GPT-4": "Xu et al. 2023, LLMs and the Abstraction and Reasoning Corpus (arXiv:2305.18354)",
    "CAX NCA": "Faldor & Cully 2025, CAX: Cellular Automata Accelerated in JAX (ICLR 2025)",
}

GPT4_PER_TYPE: dict[str, float | None] = {t: None for t in TASK_TYPES}
CAX_NCA_PER_TYPE: dict[str, float | None] = {t: None for t in TASK_TYPES}
GPT4_OVERALL: float | None = None
CAX_NCA_OVERALL: float | None = None
