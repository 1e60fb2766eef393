"""Code versions derived from the imports, never listed by hand.

The code version of an entry module is a hash of the source of every ``netsense`` module it
imports, directly or through others, found by reading the import statements (also those inside
functions) of each module's syntax tree. A workflow rule's code version is that of the command
module it runs (``netsense.cli.<command>``); a cell's samples are keyed by that of the block
kernel and the cell's sampler module. So a change to a module re-runs exactly the rules whose
command imports it, and nothing else.

What is hashed is each module's syntax tree without its docstrings, with relative imports made
absolute, printed back as source (``ast.unparse``): comments, docstrings, formatting and moves
of a module that leave its code alone do not change a version. (``ast.unparse`` may print the
same code differently under another Python minor version: a Python upgrade re-samples once.) A
package's ``__init__`` is part of a closure only when something imports a name from it, not
merely because a module below it is imported: the sampler registry then stays out of the
samples' version, so a new sampler keeps every cached cell. Samplers live in the package; a
module loaded with ``importlib.import_module`` is not followed (the entry point loads the
commands so, and each command module is a root of its own version).
"""

from __future__ import annotations

import ast
import functools
import hashlib
import importlib.util
from pathlib import Path

ROOT_PACKAGE = "netsense"


@functools.lru_cache(maxsize=1)
def _root_dir() -> Path:
    # the package this module belongs to, wherever it is imported from (a source tree, an
    # editable install or a copy on PYTHONPATH); its modules are then found without importing
    return Path(importlib.util.find_spec(ROOT_PACKAGE).origin).parent


def _candidate(module: str) -> Path | None:
    parts = module.split(".")
    if parts[0] != ROOT_PACKAGE:
        return None
    base = _root_dir().joinpath(*parts[1:])
    for p in (base / "__init__.py", base.with_suffix(".py")):
        if p.is_file():
            return p
    return None


def _source_path(module: str) -> Path:
    path = _candidate(module)
    if path is None:
        raise ModuleNotFoundError(module)
    return path


def _is_package(module: str) -> bool:
    return _source_path(module).name == "__init__.py"


def _exists(module: str) -> bool:
    return _candidate(module) is not None


def _absolute(module: str, node: ast.ImportFrom) -> str:
    """The absolute name an ``ImportFrom`` names, resolved against ``module``."""
    if node.level == 0:
        return node.module or ""
    base = module.split(".") if _is_package(module) else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


class _Normalize(ast.NodeTransformer):
    """Drops docstrings and makes relative imports absolute."""

    def __init__(self, module: str):
        self.module = module

    def _strip_docstring(self, node):
        body = node.body
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                and isinstance(body[0].value.value, str):
            node.body = body[1:] or [ast.Pass()]
        return node

    def visit_Module(self, node):
        self.generic_visit(node)
        return self._strip_docstring(node)

    def visit_FunctionDef(self, node):
        self.generic_visit(node)
        return self._strip_docstring(node)

    visit_AsyncFunctionDef = visit_FunctionDef
    visit_ClassDef = visit_FunctionDef

    def visit_ImportFrom(self, node):
        return ast.ImportFrom(module=_absolute(self.module, node), names=node.names, level=0)


def _stamp(module: str) -> tuple:
    st = _source_path(module).stat()
    return module, st.st_mtime_ns, st.st_size


@functools.cache
def _parse(stamp: tuple) -> ast.Module:
    path = _source_path(stamp[0])
    return ast.parse(path.read_text(), filename=str(path))


def _parsed(module: str) -> ast.Module:
    """The module's syntax tree, parsed again whenever its file changes."""
    return _parse(_stamp(module))


def imports_of(module: str) -> frozenset[str]:
    """The ``netsense`` modules that ``module`` imports anywhere in its source."""
    return _imports(_stamp(module))


@functools.cache
def _imports(stamp: tuple) -> frozenset[str]:
    module = stamp[0]
    out = set()
    for node in ast.walk(_parsed(module)):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = _absolute(module, node)
            # `from pkg import name`: a submodule if one exists, else a name of pkg itself
            names = [f"{target}.{a.name}" if _exists(f"{target}.{a.name}") else target
                     for a in node.names]
        else:
            continue
        out.update(n for n in names if n == ROOT_PACKAGE or n.startswith(ROOT_PACKAGE + "."))
    out.discard(module)
    return frozenset(out)


def closure(*modules: str) -> frozenset[str]:
    """``modules`` and every ``netsense`` module they import, directly or indirectly."""
    seen: set[str] = set()
    todo = list(modules)
    while todo:
        m = todo.pop()
        if m not in seen:
            seen.add(m)
            todo.extend(imports_of(m) - seen)
    return frozenset(seen)


def module_hash(module: str) -> str:
    """sha256 of the normalized source of one module (see the module docstring)."""
    return _module_hash(_stamp(module))


@functools.cache
def _module_hash(stamp: tuple) -> str:
    module = stamp[0]
    path = _source_path(module)
    tree = _Normalize(module).visit(ast.parse(path.read_text(), filename=str(path)))
    return hashlib.sha256(ast.unparse(tree).encode()).hexdigest()


def code_version(*modules: str) -> str:
    """Short hash of the normalized source of ``modules`` and of everything they import."""
    h = hashlib.sha256()
    for digest in sorted(module_hash(m) for m in closure(*modules)):
        h.update(digest.encode())
    return h.hexdigest()[:12]


def command_module(command: str) -> str:
    """The module that implements ``netsense <command>`` (``netsense.cli.<command>``)."""
    return f"{ROOT_PACKAGE}.cli.{command.replace('-', '_')}"


# Every command runs through the entry point, which parses its arguments.
ENTRY_POINT = f"{ROOT_PACKAGE}.cli.main"


# The sampling kernel: what a cell's blocks are (the block kernel, the sampler registry and every
# sampler). Its behaviour, not its source, keys the cached blocks (the fingerprints in the cell
# ids, netsense.pipeline.plan): a rule whose output follows from those blocks alone leaves the
# kernel out of its code version, so tidying the kernel re-runs nothing, and a change to what it
# computes gives new cell ids, hence new files and new jobs.
KERNEL = (f"{ROOT_PACKAGE}.core.blocks", f"{ROOT_PACKAGE}.core.samplers")


def kernel_modules() -> frozenset[str]:
    """The modules of the sampling kernel (:data:`KERNEL` and everything it imports)."""
    return closure(*KERNEL)


def command_version(command: str, without_kernel: bool = False) -> str:
    """Code version of a workflow rule that runs ``netsense <command>``: its module, the entry
    point, and everything they import (without the sampling kernel for a rule whose output
    follows from the fingerprinted blocks alone, ``without_kernel``)."""
    mods = closure(command_module(command), ENTRY_POINT)
    if without_kernel:
        mods -= kernel_modules()
    h = hashlib.sha256()
    for digest in sorted(module_hash(m) for m in mods):
        h.update(digest.encode())
    return h.hexdigest()[:12]
