"""A failing block for the fault tests, injected from the test side (the package carries no test
hook). With this directory on PYTHONPATH and NETSENSE_TEST_BLOCK_FAULT="LAM,GAMMA,BLOCK", every
Python process of the run (Snakemake, the shard jobs, the Dask host and its workers) starts with
netsense.core.blocks.sample_stream raising for that block of any stream at that density and
gamma, as a block that fails where it runs would. The probe that fingerprints a cell (block 0
with its own seed) is not touched unless BLOCK is 0.

NETSENSE_TEST_ASSEMBLY_PAUSE="SECONDS": the assembly sleeps that long after writing each cell,
so a test can stop it mid-write whatever the cube's size (format 4 writes a small cube in well
under a second)."""

import os

_FAULT = os.environ.get("NETSENSE_TEST_BLOCK_FAULT")
if _FAULT:
    import functools

    import netsense.core.blocks as _blocks

    _lam, _gamma, _block = (float(x) for x in _FAULT.split(","))
    _real = _blocks.sample_stream

    @functools.wraps(_real)
    def sample_stream(seed, stream, gamma, block_index, block_trials):
        if block_index == _block and gamma == _gamma and seed != _blocks.PROBE_SEED \
                and any(s.lam == _lam for s in stream.sides):
            raise RuntimeError("injected fault")
        return _real(seed, stream, gamma, block_index, block_trials)

    _blocks.sample_stream = sample_stream

_PAUSE = os.environ.get("NETSENSE_TEST_ASSEMBLY_PAUSE")
if _PAUSE:
    import functools
    import time

    import netsense.pipeline.assembly as _assembly

    _write = _assembly.write_cell

    @functools.wraps(_write)
    def write_cell(*args, **kwargs):
        out = _write(*args, **kwargs)
        time.sleep(float(_PAUSE))
        return out

    _assembly.write_cell = write_cell
