"""Published 1D-ARC results printed beside ours by ``cax-zoo eval arc1d_nca``.

Exact-match accuracy in percent on the 1D-ARC test set, per task type and overall, as
printed in Table 2 of the CAX paper (Faldor & Cully, ICLR 2025, arXiv:2410.02651,
section 5.3). Its GPT-4 column is, in the paper's words, "direct-grid results, directly
taken from Xu et al. (2024) Appendix A"; we copy it from CAX's table, not from Xu et al.
Both were measured on the whole benchmark, not on our held-out
instances, so they are context, not a same-split comparison. The mapping of CAX's row
names ("Move 2 Towards", "Recolor by Size", ...) to task folders follows the 1D-ARC
README (khalil-research/1D-ARC).

Two stronger systems are printed by their overall figure only: GPT-4 given the
object-based representations of Xu et al. (the mean over the 18 types of its released
logs) and ARC-VSA (Joffe & Eliasmith 2025, vector-symbolic program search).
"""

from __future__ import annotations

SOURCES = {
    "GPT-4": "Xu et al. 2024 (arXiv:2305.18354), Appendix A, direct grid; as quoted in CAX Table 2",
    "CAX NCA": "Faldor & Cully 2025, CAX: Cellular Automata Accelerated in JAX (ICLR 2025), Table 2",
    "GPT-4 obj": "Xu et al. 2024 (arXiv:2305.18354), GPT-4 with object-based representations; mean over "
                 "the 18 types of the released logs (khalil-research.github.io/LLM4ARC)",
    "ARC-VSA": "Joffe & Eliasmith 2025, Vector Symbolic Algebras for the Abstraction and Reasoning Corpus "
               "(arXiv:2511.08747)",
}

GPT4_PER_TYPE: dict[str, float | None] = {
    "1d_move_1p": 66, "1d_move_2p": 26, "1d_move_3p": 24, "1d_move_dp": 22, "1d_move_2p_dp": 34,
    "1d_fill": 66, "1d_padded_fill": 26, "1d_hollow": 56, "1d_flip": 70, "1d_mirror": 20,
    "1d_denoising_1c": 36, "1d_denoising_mc": 60, "1d_pcopy_1c": 36, "1d_pcopy_mc": 38,
    "1d_recolor_oe": 32, "1d_recolor_cnt": 28, "1d_recolor_cmp": 20, "1d_scale_dp": 88,
}
CAX_NCA_PER_TYPE: dict[str, float | None] = {
    "1d_move_1p": 100, "1d_move_2p": 100, "1d_move_3p": 100, "1d_move_dp": 12, "1d_move_2p_dp": 98,
    "1d_fill": 66, "1d_padded_fill": 28, "1d_hollow": 98, "1d_flip": 28, "1d_mirror": 6,
    "1d_denoising_1c": 100, "1d_denoising_mc": 58, "1d_pcopy_1c": 100, "1d_pcopy_mc": 100,
    "1d_recolor_oe": 0, "1d_recolor_cnt": 0, "1d_recolor_cmp": 0, "1d_scale_dp": 88,
}
GPT4_OVERALL: float | None = 41.56
CAX_NCA_OVERALL: float | None = 60.12
GPT4_OBJECT_OVERALL: float = 83.9
"""GPT-4 with object-based representations (Xu et al.): overall only."""
ARC_VSA_OVERALL: float = 83.1
"""ARC-VSA (Joffe & Eliasmith 2025): overall only."""
