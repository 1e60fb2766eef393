"""The exact law of A = sum over a plane PPP of ||x||^-gamma (positive stable), for eq. (23)
alone: an independent check of the samplers, not a sampler of networks."""

from __future__ import annotations

import math

import numpy as np

from ...errors import InputError
from .base import check_density


def sample_positive_stable(rng: np.random.Generator, alpha: float, size) -> np.ndarray:
    """Positive alpha-stable S with E[exp(-s S)] = exp(-s^alpha), 0 < alpha < 1.

    Kanter's representation: with U ~ Uniform(0, pi), E ~ Exp(1),
    S = sin(alpha U) / sin(U)^(1/alpha) * (sin((1 - alpha) U) / E)^((1 - alpha)/alpha).
    """
    if not 0.0 < alpha < 1.0:
        raise InputError("alpha", alpha, "stable index must be in (0, 1)")
    u = rng.uniform(0.0, math.pi, size=size)
    e = rng.standard_exponential(size=size)
    return (np.sin(alpha * u) / np.sin(u) ** (1.0 / alpha)
            * (np.sin((1.0 - alpha) * u) / e) ** ((1.0 - alpha) / alpha))


def sample_stable_sum(rng: np.random.Generator, lam: float, gamma: float, size) -> np.ndarray:
    """Exact sample of A = sum_{x in PPP} ||x||^-gamma on the whole plane (gamma > 2).

    E[exp(-s A)] = exp(-pi lam Gamma(1 - 2/gamma) s^(2/gamma)) (proof of Lemma 3, eq. 32-35),
    so A = (pi lam Gamma(1 - 2/gamma))^(gamma/2) S with S positive (2/gamma)-stable.
    """
    if not gamma > 2.0:
        raise InputError("gamma", gamma, "the stable law of A needs gamma > 2")
    lam = check_density(lam)
    scale = (math.pi * lam * math.gamma(1.0 - 2.0 / gamma)) ** (gamma / 2.0)
    return scale * sample_positive_stable(rng, 2.0 / gamma, size)
