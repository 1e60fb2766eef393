"""Blocks of Monte Carlo trials of eq. (18) and eq. (23) of [1] over random networks: the kernel.

A block samples ``block_trials`` independent networks of one cell and returns the geometric
factors per trial (:data:`FIELDS`, the per-trial variables of :mod:`netsense.core.variables`):

* ``g18 = tr(G^-1)`` with G = sum_kl L_k L_l (u_k+u_l)(u_k+u_l)^T   (eq. 18 without c^2/(M M eta))
* ``g23 = 2 / (A_t A_r)``                                            (eq. 23 integrand, same units)

Given a layout, S is linear in M_t M_r rho_s (full beamforming gain), so one block serves every
(M_t, M_r, rho_s) exactly: crlb_m2 = c^2 / (M_t M_r eta(rho_s)) * g18.

A network has two :class:`Side` s, the TXs and the RXs, each with its sampler, density and (TXs
only) beam model. The sides are drawn from :class:`Stream` s, each a random stream keyed by
(user seed, its key, block index):

* tied (lam_t = lam_r, M_t = M_r, the paper's Fig. 1): ONE stream draws both sides, the TXs
  first, keyed by (sampler, lam, gamma, block size, beam) (:func:`block_stream_key`);
* separate: each side from a stream of its own keyed by that side's parameters and its name
  (:func:`side_stream_key`), so a side's samples depend only on them: a (lam_t, lam_r) grid
  samples each side density once per block, and cells that share a side share its trials (their
  estimates are correlated trial by trial; :mod:`netsense.analysis.fits` uses the per-trial
  differences). The side name is in the key, so the two sides of a cell are independent even
  when lam_t = lam_r.

A stream of one side may serve several cells, so the pipeline caches its side statistics on
their own (:attr:`Stream.shared`); a cell's block is always :func:`combine` of its sides.

Link models (:mod:`netsense.core.links`: heights, blockage, shadowing) are parameters of the
sampler; each side is sampled under its own link (:meth:`~.samplers.base.Sampler.sample_side`),
and a key names them only when they differ from the paper's ideal link (so no key moved).

Beam models other than ``full`` (:mod:`netsense.core.beam`): the TX weights carry the factor
g_k / M_t with g_k = |a^H(theta_k) w_k|^2 and theta_k uniform (random array orientation), drawn
after the TX geometry; the stream key then names the model and its M (nothing for ``full``:
those keys predate beam models).
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass

import numpy as np

from ..errors import BlockError, InputError
from .beam import beam_key, beam_node_factor
from .fisher import LegStats, crlb_geometric, jensen_geometric
from .samplers.base import Sampler
from .seeding import block_rng, stream_key
from .variables import FIELDS

SIDES = ("tx", "rx")
LEG_FIELDS = LegStats._fields  # what one side contributes per trial


@dataclass(frozen=True)
class Side:
    """One side of a cell's networks: ``name`` (tx or rx), its sampler and density [m^-2], and
    for the TXs the beam model with its M (the RXs are unweighted)."""

    name: str
    sampler: Sampler
    lam: float
    beam: str = "full"
    M: int | None = None

    def __post_init__(self):
        if self.name not in SIDES:
            raise InputError("side", self.name, f"must be one of {SIDES}")
        if self.name == "rx" and (self.beam != "full" or self.M is not None):
            raise InputError("side", self.beam, "a beam model weights the TXs only")

    def node_factor(self):
        """The per-node weight drawn after the side's nodes (None: unweighted)."""
        return beam_node_factor(self.beam, self.M)


@dataclass(frozen=True)
class Stream:
    """A random stream of a block: its key and the sides it draws, in order."""

    key: str
    sides: tuple[Side, ...]

    @property
    def shared(self) -> bool:
        """A stream of one side: other cells with that side's parameters draw the same one."""
        return len(self.sides) == 1


def block_stream_key(sampler: Sampler, lam: float, gamma: float, block_trials: int,
                     beam: str = "full", M: int | None = None) -> str:
    """The key of a tied cell's one stream: sampler, lam, gamma, block size, and the beam model
    with its M for a non-full beam."""
    return stream_key(sampler.key(), lam, gamma, block_trials) + beam_key(beam, M)


def side_stream_key(sampler: Sampler, side: str, lam: float, gamma: float, block_trials: int,
                    beam: str = "full", M: int | None = None) -> str:
    """The key of one side's own stream (separate parameters). The beam model (and its M)
    weights the TXs only."""
    if side not in SIDES:
        raise InputError("side", side, f"must be one of {SIDES}")
    # that side's link only (sampler.side_key): the same as sampler.key() without link models
    key = stream_key(sampler.side_key(side), lam, gamma, block_trials) + f";side={side}"
    return key + (beam_key(beam, M) if side == "tx" else "")


def streams(sampler: Sampler, gamma: float, block_trials: int, lam_t: float,
            lam_r: float | None = None, beam: str = "full", M: int | None = None
            ) -> tuple[Stream, ...]:
    """The streams of a cell: one stream drawing both sides for a tied cell (``lam_r`` None:
    lam_t = lam_r), else one per side. ``M`` is the TX beam model's antenna count."""
    tx = Side("tx", sampler, float(lam_t), beam, M if beam != "full" else None)
    if lam_r is None:
        rx = Side("rx", sampler, float(lam_t))
        return (Stream(block_stream_key(sampler, lam_t, gamma, block_trials, beam, M), (tx, rx)),)
    rx = Side("rx", sampler, float(lam_r))
    return (Stream(side_stream_key(sampler, "tx", lam_t, gamma, block_trials, beam, M), (tx,)),
            Stream(side_stream_key(sampler, "rx", lam_r, gamma, block_trials), (rx,)))


def sample_stream(seed: int, stream: Stream, gamma: float, block_index: int,
                  block_trials: int) -> dict[str, LegStats]:
    """Block ``block_index`` of one stream: {side name: its :class:`LegStats` per trial}."""
    try:
        rng = block_rng(seed, stream.key, block_index)
        return {s.name: s.sampler.sample_side(rng, s.lam, gamma, block_trials,
                                              node_factor=s.node_factor(), side=s.name)
                for s in stream.sides}  # in order: a tied stream draws the TXs first
    except InputError:
        raise
    except Exception as exc:
        s = stream.sides[0]
        raise BlockError(f"block failed: {'/'.join(x.name for x in stream.sides)} lam={s.lam!r} "
                         f"gamma={gamma!r} sampler={s.sampler.key()} block={block_index} "
                         f"seed={seed} key='{stream.key}': {type(exc).__name__}: {exc}") from exc


def side_arrays(stats: LegStats) -> dict[str, np.ndarray]:
    """A side's statistics as named float64 arrays (what a side cache stores)."""
    return {f: np.asarray(getattr(stats, f), dtype=float) for f in LEG_FIELDS}


def combine(tx, rx) -> dict[str, np.ndarray]:
    """g18 (eq. 18) and g23 (eq. 23) per trial from the two sides (:class:`LegStats` or their
    :func:`side_arrays`)."""
    t = tx if isinstance(tx, LegStats) else LegStats(**{f: tx[f] for f in LEG_FIELDS})
    r = rx if isinstance(rx, LegStats) else LegStats(**{f: rx[f] for f in LEG_FIELDS})
    return {"g18": crlb_geometric(t, r), "g23": jensen_geometric(t, r)}


def run_streams(seed: int, cell_streams: tuple[Stream, ...], gamma: float, block_index: int,
                block_trials: int) -> dict[str, np.ndarray]:
    """One block of a cell given its :func:`streams`: ``{"g18": ..., "g23": ...}`` per trial."""
    sides = {}
    for st in cell_streams:
        sides.update(sample_stream(seed, st, gamma, block_index, block_trials))
    return combine(sides["tx"], sides["rx"])


def simulate_block(seed: int, sampler: Sampler, lam: float, gamma: float, block_index: int,
                   block_trials: int, *, beam: str = "full", M: int | None = None,
                   lam_r: float | None = None) -> dict[str, np.ndarray]:
    """Sample block ``block_index`` of a cell and return ``{"g18": ..., "g23": ...}`` (float64,
    per trial).

    ``lam`` is the TX density, and the RX one too unless ``lam_r`` is given (tied: one stream
    for both sides; separate: a stream per side, see the module docstring). ``beam``: TX
    beamforming model (:data:`netsense.core.beam.BEAM_MODELS`); ``full`` (Remark 1 of [1])
    ignores ``M`` and is the unweighted sampler; any other model needs ``M`` (TX antennas) and
    weights each TX by tx_gain(beam, M, theta)/M.
    """
    return run_streams(seed, streams(sampler, gamma, block_trials, lam, lam_r, beam, M), gamma,
                       block_index, block_trials)


def sample_side(seed: int, sampler: Sampler, side: str, lam: float, gamma: float,
                block_index: int, block_trials: int, beam: str = "full", M: int | None = None
                ) -> dict[str, np.ndarray]:
    """One side of block ``block_index`` from that side's own stream (separate parameters), as
    :func:`side_arrays`; ``beam``/``M`` weight the TXs."""
    st = streams(sampler, gamma, block_trials, lam, lam, beam, M)[SIDES.index(side)]
    return side_arrays(sample_stream(seed, st, gamma, block_index, block_trials)[side])


# What keys the caches: a cell's blocks (and a shared stream's side blocks) are stored under a
# fingerprint of what this kernel computes for that cell, not of its source text, so moving or
# tidying sampling code keeps every cached block while any change to a sampled number gives new
# ones. The probe is a small block of the cell's own streams (its sampler, densities, gamma,
# beam model and stream keys), drawn with a probe seed of its own; it exercises the same code as
# every block of the cell. Not seen by it: code that acts only on more trials than
# PROBE_TRIALS, on block indices other than 0, or on events the probe does not draw (a window
# with no node, a singular FIM) - tests/core/test_fingerprints.py fixes the probes of every
# registered sampler, so such a change still shows in review.
PROBE_SEED = 0x6E65747365  # "netse"
PROBE_TRIALS = 32


def _digest_arrays(parts) -> str:
    h = hashlib.sha256()
    for name, a in parts:
        a = np.ascontiguousarray(a, dtype=float)
        h.update(name.encode())
        h.update(str(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()[:16]


@functools.lru_cache(maxsize=4096)
def fingerprints(cell_streams: tuple[Stream, ...], gamma: float) -> tuple[str, dict[str, str]]:
    """(fingerprint of the cell's blocks, {side name: fingerprint of its shared stream's side
    blocks}) from a probe block of the cell's streams (see the comment above)."""
    sides, own = {}, {}
    for st in cell_streams:
        drawn = sample_stream(PROBE_SEED, st, gamma, 0, PROBE_TRIALS)
        sides.update(drawn)
        if st.shared:
            (name, stats), = drawn.items()
            own[name] = _digest_arrays(side_arrays(stats).items())
    out = combine(sides["tx"], sides["rx"])
    cell = _digest_arrays([*((f"{n}.{f}", a) for n in SIDES
                             for f, a in side_arrays(sides[n]).items()),
                           *((f, out[f]) for f in FIELDS)])
    return cell, own
