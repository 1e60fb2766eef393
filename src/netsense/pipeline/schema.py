"""The config schema file and a YAML loader that reads it as users mean it.

``netsense/workflow/schemas/config.schema.yaml`` (the workflow ships inside the package) holds
every key's type, unit and default. :func:`netsense.pipeline.config.schema` completes it with
what the registries own (sampler entries, beam models); the defaults of plain keys are read
here, without importing the registries.
"""

from __future__ import annotations

import copy
import functools
import re
from importlib import resources

import yaml


class _SafeLoader(yaml.SafeLoader):
    """SafeLoader (no object construction) that reads 1e9 and 30.0e9 as floats (YAML 1.2)."""


_SafeLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
    |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""", re.X),
    list("-+0123456789."))


def safe_load(text: str):
    """Parse YAML without constructing objects (1e9 reads as a float)."""
    return yaml.load(text, Loader=_SafeLoader)


@functools.cache
def _schema_text() -> str:
    return resources.files("netsense").joinpath("workflow", "schemas", "config.schema.yaml") \
        .read_text()


def schema_file() -> dict:
    """The schema as the file states it (a fresh copy: callers may complete it)."""
    return safe_load(_schema_text())


def schema_default(path: str):
    """The schema's default of a dotted key, e.g. ``estimator.trials``."""
    node = schema_file()
    for part in path.split("."):
        node = node["properties"][part]
    return copy.deepcopy(node["default"])
