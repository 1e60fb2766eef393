"""Sphinx configuration of the netsense documentation (``make docs``).

Everything in the reference is generated from the code so that it cannot drift: the API from
the numpydoc docstrings (autodoc + napoleon), the CLI from the argparse parser
(``netsense.cli.main:build_parser``, sphinx-argparse) and the config keys from the completed
schema (``netsense.pipeline.config.schema``, the same as ``netsense schema``; ``_ext/configref.py``).
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# the source tree first, as the tests do: the docs describe this checkout, not an installed copy
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE / "_ext"))

from netsense.version import __version__  # noqa: E402

project = "netsense"
author = "the netsense authors"
copyright = "the netsense authors"
release = __version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
    "sphinxarg.ext",
    "myst_nb",
    "netsense_docs",
]

source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
exclude_patterns = ["_build", "**.ipynb_checkpoints", "README.md"]
templates_path = ["_templates"]

# -- API reference: numpydoc docstrings through napoleon ------------------------------------
autosummary_generate = True
autosummary_imported_members = False
autodoc_default_options = {"members": True, "undoc-members": False, "show-inheritance": True}
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_preserve_defaults = True
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False
napoleon_use_ivar = True

# -- MyST and notebooks ------------------------------------------------------------------------
myst_enable_extensions = ["colon_fence"]
myst_heading_anchors = 3
# The tutorial is committed without outputs (so it never shows numbers the code no longer gives)
# and executed by every docs build; CI also runs it with nbmake. `make docs` executes it here;
# tests/test_docs.py builds with nb_execution_mode=off, because nbmake ran it in the same run.
nb_execution_mode = "force"
nb_execution_timeout = 300
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_merge_streams = True

# -- HTML ------------------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"netsense {release}"
html_theme_options = {
    "navigation_depth": 3,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
}
html_static_path = ["_static"]
html_css_files = ["netsense.css"]
