"""Where a sweep runs: the workflow that ships inside the package, and a user's project folder.

The Snakefile, its rules, the config schema, the report captions and the workflow profiles live
in ``netsense/workflow/``, and the example configs and layouts in ``netsense/examples/``: a plain
``pip install`` carries them, so ``netsense run`` works in any folder (its ``results/`` go
there) and ``netsense init`` writes the examples into a folder to start from. In a clone the
top-level ``workflow/``, ``config/`` and ``data/layouts/`` are links to these folders.
"""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

from ..errors import InputError

# What `netsense run` uses when no --configfile is given, relative to the working directory.
DEFAULT_CONFIGFILE = Path("config") / "config.yaml"


def _package_dir(name: str) -> Path:
    return Path(str(resources.files("netsense").joinpath(name)))


def snakefile() -> Path:
    """The packaged Snakefile."""
    return _package_dir("workflow") / "Snakefile"


def examples_dir() -> Path:
    """The packaged example project: ``config/*.yaml`` and ``data/layouts/*.json``."""
    return _package_dir("examples")


def example_files() -> list[Path]:
    """The example files, relative to :func:`examples_dir`, in a stable order."""
    root = examples_dir()
    return sorted(p.relative_to(root) for p in root.rglob("*")
                  if p.is_file() and p.suffix in (".yaml", ".json"))


def init_project(dest) -> list[Path]:
    """Copy the example configs and layouts into ``dest`` (created if needed); returns the files
    written. Refuses, writing nothing, if any of them exists already: a user's edited config is
    never overwritten."""
    dest = Path(dest)
    files = example_files()
    clash = [f for f in files if (dest / f).exists()]
    if clash:
        raise InputError("netsense init", str(dest / clash[0]), f"exists already ({len(clash)} of "
                         f"the {len(files)} example files do); nothing was written")
    if dest.exists() and not dest.is_dir():
        raise InputError("netsense init", str(dest), "is a file, not a folder")
    for f in files:
        (dest / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(examples_dir() / f, dest / f)
    return [dest / f for f in files]
