"""Flow Lenia (Plantec et al. 2023): mass-conserving multi-channel Lenia, in which the
growth field no longer adds matter but moves it along a flow (reintegration tracking)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray

from .._blocks._conv import depthwise_conv, sobel_kernels
from .._errors import ConfigError, StateError
from .._grid import AbstractGridAutomaton, as_image
from .._registry import register
from .._data import _cax_lenia as cax
from .._validation import check_choice, check_float, check_int
from ._lenia import Lenia, LeniaRule, growth_function, render_channels


def sobel_gradient(x: Float[Array, "*spatial C"]) -> Float[Array, "*spatial C d"]:
    """Periodic 3^d Sobel gradient of every channel along each of the ``d = x.ndim - 1``
    spatial axes, at the scale of Flow Lenia's un-normalised 2-D Sobel in every dimension
    (a unit ramp gives 8), so ``dt`` means the same in 1-, 2- and 3-D."""
    d = x.ndim - 1
    k = jnp.asarray(np.stack(sobel_kernels(d)) * 8.0)
    g = depthwise_conv(x, k, "periodic")
    return g.reshape(x.shape + (d,))


def reintegrate(
    mass: Float[Array, "*spatial C"], flow: Float[Array, "*spatial C d"], *, dt: float, sigma: float, dd: int,
) -> Float[Array, "*spatial C"]:
    """Reintegration tracking on a ``d``-torus: the matter of each cell moves to
    ``centre + clip(dt * flow, ±(dd - sigma))`` spread uniformly over a cube of side
    ``2 sigma``, and each cell collects the overlap of every such cube with itself.
    The overlaps of one cube sum to 1, so total mass is conserved (up to float32
    rounding, about 4e-8 of the mass per step).

    The cube's overlaps factor over the axes, so the transport runs one axis at a time:
    along the last axis first, each packet carrying its weights for the other axes
    (``(2 dd + 1)^(d - 1)`` numbers per cell and channel), then one axis after another,
    ``d (2 dd + 1)`` rolls in all."""
    d = flow.shape[-1]
    if flow.shape[:-1] != mass.shape or mass.ndim != d + 1:
        raise StateError(f"reintegrate: flow {flow.shape} must be mass {mass.shape} plus one axis "
                         f"of {mass.ndim - 1} spatial components")
    width = 2 * dd + 1
    o = overlaps(flow, dt=dt, sigma=sigma, dd=dd).astype(mass.dtype)
    # each packet's weights along axes 0..d-2, as an outer product: (*spatial, C, K_0..K_{d-2})
    weights = jnp.ones(mass.shape, mass.dtype)
    for a in range(d - 1):
        weights = weights[..., None] * o[..., a, :].reshape(mass.shape + (1,) * a + (width,))
    # move along the last axis, carrying the other axes' weights
    last = o[..., d - 1, :]
    pad = (1,) * (d - 1)
    carried = jnp.zeros(weights.shape, mass.dtype)
    for j in range(width):
        carried = carried + jnp.roll((mass * last[..., j]).reshape(mass.shape + pad) * weights, j - dd, axis=d - 1)
    # then along each other axis, from the last carried one back to axis 0
    for a in reversed(range(d - 1)):
        moved = jnp.zeros(carried.shape[:-1], mass.dtype)
        for i in range(width):
            moved = moved + jnp.roll(carried[..., i], i - dd, axis=a)
        carried = moved
    return carried


def overlaps(flow: Float[Array, "*spatial C d"], *, dt: float, sigma: float, dd: int
             ) -> Float[Array, "*spatial C d w"]:
    """Per source cell, channel and axis, the share of its cube (side ``2 sigma``, centred
    ``clip(dt * flow, +-(dd - sigma))`` away) that lands on each offset ``-dd..dd``
    (``w = 2 dd + 1``); normalised by the sum actually computed (``2 sigma`` in exact
    arithmetic), which keeps float32 rounding from biasing the mass budget."""
    limit = dd - sigma
    shift = jnp.clip(dt * flow, -limit, limit)
    sig = jnp.asarray(sigma, flow.dtype)
    cap = jnp.minimum(jnp.asarray(1.0, flow.dtype), 2 * sig)
    offsets = jnp.arange(-dd, dd + 1, dtype=flow.dtype)
    o = jnp.clip(0.5 - jnp.abs(offsets - shift[..., None]) + sig, 0.0, cap)
    return o / jnp.sum(o, axis=-1, keepdims=True)


def mix_average(mass: Float[Array, "*spatial C"], params: Float[Array, "*spatial P"],
                flow: Float[Array, "*spatial C d"], *, dt: float, sigma: float, dd: int
                ) -> Float[Array, "*spatial P"]:
    """Parameters carried with the matter, mixed by weighted average (Plantec et al. 2023):
    each cell's new parameters are the mass-weighted mean of the packets that reach it
    (``sum_c reintegrate(A_c P) / sum_c reintegrate(A_c)``). Cells that receive no matter
    keep their parameters. ``sum_x A(x) P(x)`` is conserved like the mass."""
    carried = jax.vmap(lambda p: reintegrate(mass * p[..., None], flow, dt=dt, sigma=sigma, dd=dd),
                       in_axes=-1, out_axes=-1)(params)  # (*spatial, C, P)
    total = reintegrate(mass, flow, dt=dt, sigma=sigma, dd=dd).sum(axis=-1)[..., None]
    ok = total > 1e-12
    return jnp.where(ok, carried.sum(axis=-2) / jnp.where(ok, total, 1.0), params)


def mix_sample(mass: Float[Array, "*spatial C"], params: Float[Array, "*spatial P"],
               flow: Float[Array, "*spatial C d"], *, dt: float, sigma: float, dd: int,
               key: PRNGKeyArray | None) -> Float[Array, "*spatial P"]:
    """Parameters carried with the matter, mixed by stochastic sampling (Plantec et al.
    2023): each cell takes the parameters of one source cell whose matter reaches it,
    drawn with probability proportional to the mass it sends (Gumbel-max over the
    ``(2 dd + 1)^d`` offsets); ``key=None`` takes the heaviest incoming packet. Cells that
    receive no matter keep their parameters."""
    import itertools

    d = flow.shape[-1]
    o = overlaps(flow, dt=dt, sigma=sigma, dd=dd)  # (*spatial, C, d, w)
    axes = tuple(range(d))
    best = jnp.full(mass.shape[:-1], -jnp.inf, mass.dtype)
    chosen = params
    keys = None if key is None else jax.random.split(key, (2 * dd + 1) ** d)
    for i, off in enumerate(itertools.product(range(2 * dd + 1), repeat=d)):
        share = mass
        for a in range(d):
            share = share * o[..., a, off[a]]
        sent = jnp.roll(share.sum(axis=-1), tuple(j - dd for j in off), axis=axes)  # mass arriving from there
        score = jnp.where(sent > 1e-12, jnp.log(jnp.maximum(sent, 1e-30)), -jnp.inf)
        if keys is not None:
            score = score + jax.random.gumbel(keys[i], score.shape, score.dtype)
        source = jnp.roll(params, tuple(j - dd for j in off), axis=axes)
        better = score > best
        best = jnp.where(better, score, best)
        chosen = jnp.where(better[..., None], source, chosen)
    return chosen


LOCALISABLE = ("h", "m", "s")
"""Rule arrays that can be stored per cell (they act pointwise on the growth)."""
MIXINGS = ("average", "sample")
DEFAULT_RULE = {"m": 0.15, "s": 0.03}
"""The rule when none is given: one Gaussian kernel, growth centre 0.15 and width 0.03."""


@register(
    "flow_lenia",
    description="Flow Lenia: mass-conserving multi-channel Lenia in any number of dimensions, "
    "matter moved along the affinity gradient by reintegration tracking, with optional "
    "parameter localisation",
    paper="Plantec, Hamon, Etcheverry, Oudeyer, Moulin-Frier, Chan 2023, Flow-Lenia: Towards "
    "open-ended evolution in cellular automata through mass conservation and parameter "
    "localization (ALIFE 2023; arXiv:2212.07906)",
    tags=("continuous", "nd", "differentiable", "mass-conserving"),
)
class FlowLenia(AbstractGridAutomaton):
    """Flow Lenia on a torus of ``num_spatial_dims`` dimensions (1, 2, 3, ...). Lenia's
    kernels and growths give an affinity map ``U`` (``(*spatial, C)``, see
    :meth:`Lenia.growth_field`); matter flows along
    ``F = (1 - alpha) grad U - alpha grad A_sum`` with ``alpha = clip((A/theta_A)^n, 0, 1)``
    (``A`` the total mass, or each channel's own with ``alpha="channel"`` as CAX does), and
    moves by :func:`reintegrate`. Mass is conserved, so states are not clipped to [0, 1].

    The rule lives in ``lenia`` (a :class:`Lenia`, which also holds a creature's pattern
    and ``state_scale``). With ``localise`` (names from :data:`LOCALISABLE`), those rule
    arrays are stored per cell in extra state channels after the ``C`` matter channels
    (``K`` per name), travel with the matter and mix where matter meets (``mixing``:
    ``"average"`` or ``"sample"``, Plantec et al. 2023); the state then has
    ``C + K len(localise)`` channels.
    """

    lenia: Lenia
    dt: float = eqx.field(static=True)
    sigma: float = eqx.field(static=True)
    dd: int = eqx.field(static=True)
    n: float = eqx.field(static=True)
    theta_A: float = eqx.field(static=True)
    alpha: str = eqx.field(static=True)
    localise: tuple[str, ...] = eqx.field(static=True)
    mixing: str = eqx.field(static=True)
    soup_size: int | None = eqx.field(static=True)
    num_spatial_dims: int = eqx.field(static=True)
    num_channels: int = eqx.field(static=True)

    state_kind = "continuous"
    state_dtype = jnp.float32

    def __init__(
        self,
        *,
        num_channels: int = 1,
        num_kernels: int | None = None,
        num_rings: int | None = None,
        R: float = 10.0,
        m: Any = None,
        s: Any = None,
        h: Any = None,
        r: Any = None,
        b: Any = None,
        a: Any = None,
        w: Any = None,
        sources: Sequence[int] | None = None,
        targets: Sequence[int] | None = None,
        rule: LeniaRule | None = None,
        kernel_core: str = "gaussian",
        growth: str = "gaussian",
        state_scale: int = 1,
        pattern: Any = None,
        pattern_shape: Sequence[int] | None = None,
        default_size: Sequence[int] | int | None = None,
        creature: str = "",
        dt: float = 0.2,
        sigma: float = 0.65,
        dd: int = 5,
        n: float = 2.0,
        theta_A: float = 1.0,
        alpha: str = "total",
        localise: Sequence[str] = (),
        mixing: str = "average",
        soup_size: int | None = None,
        num_spatial_dims: int = 2,
        key: PRNGKeyArray | None = None,
    ):
        """The rule as for :class:`Lenia` (arrays, ``rule=``, or the shapes ``num_kernels``
        and ``num_rings`` of a weight file), or, with ``num_kernels`` and ``key``, a random
        rule drawn as CAX's notebooks draw them (:func:`sample_rule`: free kernels of three
        bumps when ``kernel_core="free"``, else one to three rings). Defaults: one Gaussian
        kernel, ``m=0.15, s=0.03``."""
        self.dt = check_float("dt", dt, minimum=0.0, maximum=100.0, open_minimum=True)
        self.sigma = check_float("sigma", sigma, minimum=0.0, maximum=64.0, open_minimum=True)
        self.dd = check_int("dd (the flow window)", dd, minimum=1, maximum=32)
        if self.sigma >= self.dd:
            raise ConfigError(f"sigma ({sigma}) must be smaller than dd ({dd})")
        self.n = check_float("n", n, minimum=0.0, maximum=100.0, open_minimum=True)
        self.theta_A = check_float("theta_A", theta_A, minimum=0.0, maximum=1e6, open_minimum=True)
        self.alpha = check_choice("alpha", alpha, ("total", "channel"))
        self.soup_size = None if soup_size is None else check_int("soup_size", soup_size, minimum=1, maximum=4096)
        self.mixing = check_choice("mixing", mixing, MIXINGS)
        if isinstance(localise, str) or not isinstance(localise, (list, tuple)):
            raise ConfigError(f"localise must be a list of rule array names, got {localise!r}")
        self.localise = tuple(check_choice("localise entry", x, LOCALISABLE) for x in localise)
        if len(set(self.localise)) != len(self.localise):
            raise ConfigError(f"localise names a rule array twice: {list(localise)}")
        rule = LeniaRule.from_config(
            m=m, s=s, h=h, r=r, b=b, a=a, w=w, sources=sources, targets=targets, rule=rule,
            num_kernels=num_kernels, num_rings=num_rings, key=key, kernel_core=kernel_core,
            num_channels=num_channels, default=DEFAULT_RULE)
        self.lenia = Lenia(
            R=R, T=1.0, rule=rule, kernel_core=kernel_core, growth=growth, state_scale=state_scale,
            num_spatial_dims=num_spatial_dims, num_channels=num_channels, pattern=pattern,
            pattern_shape=pattern_shape, default_size=default_size, creature=creature)
        self.num_spatial_dims = self.lenia.num_spatial_dims
        self.num_channels = self.lenia.num_channels + self.lenia.num_kernels * len(self.localise)

    def config(self) -> dict[str, Any]:
        rc = self.lenia.config()
        keys = ("R", "num_kernels", "num_rings", "kernel_core", "growth", "state_scale", "pattern_shape",
                "default_size", "creature")
        return {"num_channels": self.matter_channels, "num_spatial_dims": self.num_spatial_dims,
                **{k: rc[k] for k in keys},
                "dt": self.dt, "sigma": self.sigma, "dd": self.dd, "n": self.n, "theta_A": self.theta_A,
                "alpha": self.alpha, "localise": list(self.localise), "mixing": self.mixing,
                "soup_size": self.soup_size}

    @property
    def matter_channels(self) -> int:
        """``C``: the channels that hold matter (the state's first ``C`` channels)."""
        return self.lenia.num_channels

    @property
    def rule(self) -> LeniaRule:
        return self.lenia.rule

    # ------------------------------------------------------------------ dynamics
    def _split(self, state):
        c, k = self.matter_channels, self.lenia.num_kernels
        fields = {name: state[..., c + i * k: c + (i + 1) * k] for i, name in enumerate(self.localise)}
        return state[..., :c], fields

    def _update(self, state, kfft, key=None):
        lenia = self.lenia
        mass, fields = self._split(state)
        u = lenia.potential(mass, kfft)
        arr = {name: fields.get(name, getattr(lenia.rule, name)) for name in ("h", "m", "s")}
        g = growth_function(u, arr["m"], arr["s"], lenia.growth) * arr["h"]
        affinity = g @ jax.nn.one_hot(lenia.rule.targets, self.matter_channels, dtype=g.dtype)
        total = mass.sum(axis=-1, keepdims=True)
        grad_u = sobel_gradient(affinity)
        grad_a = sobel_gradient(total)  # (*spatial, 1, d)
        crowd = total if self.alpha == "total" else mass
        alpha = jnp.clip((crowd / self.theta_A) ** self.n, 0.0, 1.0)[..., None]
        flow = (1.0 - alpha) * grad_u - alpha * grad_a
        moved = reintegrate(mass, flow, dt=self.dt, sigma=self.sigma, dd=self.dd)
        if not self.localise:
            return moved
        params = state[..., self.matter_channels:]
        if self.mixing == "average":
            params = mix_average(mass, params, flow, dt=self.dt, sigma=self.sigma, dd=self.dd)
        else:
            params = mix_sample(mass, params, flow, dt=self.dt, sigma=self.sigma, dd=self.dd, key=key)
        return jnp.concatenate([moved, params], axis=-1)

    def step(self, state: Float[Array, "*spatial C"], input=None, *, key=None) -> Float[Array, "*spatial C"]:
        return self._update(state, None, key)

    def encode_state(self, state):
        return state, self.lenia.kernel_fft(state.shape[: self.num_spatial_dims])

    def encoded_step(self, encoded, input=None, *, key=None):
        state, kfft = encoded
        return self._update(state, kfft, key), kfft

    def decode_state(self, encoded):
        return encoded[0]

    # ------------------------------------------------------------------ states
    def check_state(self, state) -> int:
        batch = super().check_state(state)
        spatial = tuple(state.shape[batch: batch + self.num_spatial_dims])
        radius = self.lenia._radius()
        need = max(2 * math.ceil(radius) + 1, 2 * self.dd + 1)
        if min(spatial) < need:
            raise StateError(
                f"FlowLenia with kernel radius {radius:g} and flow window {self.dd} needs every "
                f"spatial extent >= {need}, got {spatial}")
        return batch

    def prepare_state(self, state):
        return jnp.asarray(state, jnp.float32)

    def with_parameters(self, matter: Float[Array, "*spatial C"], **fields: Any) -> Float[Array, "*spatial S"]:
        """A full state from matter channels: each localised rule array set per cell from
        ``fields`` (anything that broadcasts to ``(*spatial, K)``), else from the rule
        everywhere."""
        unknown = sorted(set(fields) - set(self.localise))
        if unknown:
            raise ConfigError(f"not localised: {unknown} (localise={list(self.localise)})")
        matter = jnp.asarray(matter, jnp.float32)
        spatial = matter.shape[: self.num_spatial_dims]
        k = self.lenia.num_kernels
        parts = [matter]
        for name in self.localise:
            v = jnp.asarray(fields.get(name, getattr(self.rule, name)), jnp.float32)
            try:
                parts.append(jnp.broadcast_to(v, spatial + (k,)))
            except ValueError:
                raise StateError(f"{name} must broadcast to {spatial + (k,)}, got shape {v.shape}") from None
        return jnp.concatenate(parts, axis=-1)

    def init_state(self, size=None, *, key: PRNGKeyArray | None = None) -> Float[Array, "*spatial C"]:
        """The creature's pattern (scaled by ``state_scale``) in the middle of the grid if
        the rule has one, else a random soup (uniform in [0, 1]) in a centred box of side
        ``soup_size`` (default ``4R``; CAX's random rules use 40) (default 128 per axis in 1-D and 2-D, 64 in 3-D and up), from ``key``
        (default ``PRNGKey(0)``); localised rule arrays start at the rule's values."""
        if self.lenia.pattern is not None:
            return self.with_parameters(self.lenia.init_state(size))
        shape = self.spatial_shape(size, 128 if self.num_spatial_dims <= 2 else 64)
        key = jax.random.PRNGKey(0) if key is None else key
        box = self.soup_size or max(1, int(round(4 * self.lenia.R * self.lenia.state_scale)))
        side = tuple(min(n, box) for n in shape)
        patch = jax.random.uniform(key, side + (self.matter_channels,), jnp.float32)
        grid = jnp.zeros(shape + (self.matter_channels,), jnp.float32)
        start = tuple((n - p) // 2 for p, n in zip(side, shape)) + (0,)
        return self.with_parameters(jax.lax.dynamic_update_slice(grid, patch, start))

    def render(self, state) -> np.ndarray:
        """The matter channels: 1 channel on the viridis-like ramp; 2-3 channels as RGB
        (values clipped to [0, 1]); 1-D states are one row, 3-D states are max-projected."""
        x = np.asarray(jax.device_get(state), np.float32)
        if x.ndim != self.num_spatial_dims + 1:
            raise StateError(f"FlowLenia.render expects one state of {self.num_spatial_dims} spatial "
                             f"axes plus channels, got shape {x.shape}")
        return render_channels(as_image(x[..., : self.matter_channels], self.num_spatial_dims))


# ----------------------------------------------------------------------------- presets
def _cax_preset(pattern: str, *, R: float, T: float, state_scale: int, **fixed: Any):
    def factory(**overrides: Any) -> FlowLenia:
        c = cax.load_cax_pattern(pattern)
        config = dict(
            R=R, dt=1.0 / T, state_scale=state_scale, **c.rule_arrays(), kernel_core="gaussian",
            growth="exponential", alpha="channel", num_channels=c.num_channels, pattern=c.cells,
            default_size=(128, 128), creature=f"CAX {pattern}", **fixed)
        config.update(overrides)
        return FlowLenia(**config)

    return factory


def _random_preset(num_channels: int, num_kernels: int, R: float):
    def factory(seed: int = 0, **overrides: Any) -> FlowLenia:
        """``seed`` draws the rule (``jax.random.key(seed)``, CAX's notebook uses 0)."""
        seed = check_int("seed", seed, minimum=0)
        config = dict(num_channels=num_channels, num_kernels=num_kernels, R=R, dt=0.1, kernel_core="free",
                      growth="exponential", alpha="channel", soup_size=40, key=jax.random.key(seed))
        config.update(overrides)
        return FlowLenia(**config)

    return factory


_PAPER = "Faldor & Cully 2025, CAX (examples/21_flow_lenia.ipynb); Plantec et al. 2023, Flow-Lenia"
register("flow_lenia/5n7kkm", description="CAX's Flow Lenia default: the 5N7KKM rule and pattern "
         "(3 channels, 15 kernels, R=12, T=10)", paper=_PAPER,
         tags=("continuous", "2d", "cax"))(_cax_preset("5N7KKM", R=12.0, T=10.0, state_scale=1))
register("flow_lenia/orbium", description="CAX's Flow Lenia Orbium: one kernel m=0.15, s=0.015, "
         "R=12, T=10, state_scale 2", paper=_PAPER,
         tags=("continuous", "2d", "cax"))(_cax_preset("Orbium", R=12.0, T=10.0, state_scale=2))
register("flow_lenia/random_1ch", description="CAX's random Flow Lenia: 1 channel, 10 random "
         "free kernels, R=20, from a 40x40 soup", paper=_PAPER,
         tags=("continuous", "2d", "cax"))(_random_preset(1, 10, 20.0))
register("flow_lenia/random_3ch", description="CAX's random Flow Lenia: 3 channels, 15 random "
         "free kernels, R=15, from a 40x40 soup", paper=_PAPER,
         tags=("continuous", "2d", "cax"))(_random_preset(3, 15, 15.0))
