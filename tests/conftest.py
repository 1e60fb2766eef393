"""How `make test` spreads the suite over two processes (pytest-xdist, ``--dist loadfile``).

Most of the suite's time is end-to-end runs that wait on subprocesses (Snakemake, Dask, SLURM),
so two test processes keep a 2-core machine busy (README, "Two commands"). A test file is the
unit of distribution: its module fixture (one workflow run shared by its tests) is built once,
and its tests run in their written order. Files that share a session fixture run in one process,
as one unit (``SHARED``). The slow files go first, so that the many short ones fill in at the
end instead of one long file starting last.
"""

from __future__ import annotations

import pytest

# test file -> the unit it runs in, for files that share a session fixture
SHARED = {
    "tests/workflow/test_beams.py": "paper_runs",  # tests/workflow/conftest.py
    "tests/workflow/test_paper.py": "paper_runs",
    "tests/analysis/test_query_stats.py": "analysis_cubes",  # tests/analysis/conftest.py
    "tests/analysis/test_studies.py": "analysis_cubes",
    "tests/analysis/test_study_registry.py": "analysis_cubes",
}


def _file(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def pytest_collection_modifyitems(config, items):
    slow = {_file(item.nodeid) for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: _file(item.nodeid) not in slow)  # stable: a file keeps its order


@pytest.hookimpl(optionalhook=True)  # a pytest-xdist hook; without -n it is never called
def pytest_xdist_make_scheduler(config, log):
    # pytest-xdist's own `loadgroup` does not group under pytest 9.2: it renames a test id pytest
    # no longer reads (pytest-dev/pytest-xdist#1386, open). So `loadfile` is taught the shared
    # units here
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class SharedFixtureScheduling(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return SHARED.get(_file(nodeid), _file(nodeid))

    return SharedFixtureScheduling(config, log)
