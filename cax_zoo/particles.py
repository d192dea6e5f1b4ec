"""Particle systems, public: the state, boids policies and their measures, Particle Life's
force profile and Particle Lenia's kernel, and the neighbour search they share.

    import jax, cax_zoo
    from cax_zoo import particles

    flock = cax_zoo.Boids(noise=0.05)                                   # classic rules + noise
    learned = cax_zoo.Boids(policy="neural", key=jax.random.key(0))      # an Equinox MLP policy
    state = flock.rollout(flock.init_state(), 200, key=jax.random.key(1))
    particles.order_parameter(state.velocities)
"""

from ._blocks._cell_list import NEIGHBOUR_METHODS as NEIGHBOUR_METHODS, find_neighbours as find_neighbours
from ._families._boids import (
    POLICIES as POLICIES,
    AbstractBoidsPolicy as AbstractBoidsPolicy,
    Boids as Boids,
    Neighbourhood as Neighbourhood,
    NeuralPolicy as NeuralPolicy,
    ReynoldsRules as ReynoldsRules,
    order_parameter as order_parameter,
)
from ._families._particle_lenia import ParticleLenia as ParticleLenia, peak as peak
from ._families._particle_life import ParticleLife as ParticleLife, life_force as life_force
from ._particles import ParticleState as ParticleState, render_particles as render_particles

__all__ = ["NEIGHBOUR_METHODS", "POLICIES", "AbstractBoidsPolicy", "Boids", "Neighbourhood", "NeuralPolicy",
           "ParticleLenia", "ParticleLife", "ParticleState", "ReynoldsRules", "find_neighbours", "life_force",
           "order_parameter", "peak", "render_particles"]
