"""The local Sphinx extension of the netsense docs.

- ``.. netsense-config::``: the config reference, generated from the completed schema.
- ``.. netsense-public::``: the names of the top-level package, linked to their definitions.
- Docstrings are plain text with ASCII math (``|a^H w|^2``): a ``|`` outside a literal is
  escaped before reStructuredText reads it, so that it is never taken for a substitution; and
  relative references (``:mod:`.cube```) are made absolute as Python would resolve them.

Config reference:

The rows come from :func:`netsense.pipeline.config.schema` (what ``netsense schema`` prints: the
schema file completed with the sampler and beam registries), so a key added to the schema or a
sampler added to the registry appears here without editing any page. Every key gets an anchor
``config-<dotted key>``. Text is put in as text nodes, never parsed as markup, because schema
descriptions hold characters such as ``|a^H w|`` that reStructuredText would read as markup.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import json
import re
import sys

from docutils import nodes
from docutils.parsers.rst import Directive
from docutils.statemachine import StringList

CONSTRAINTS = ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum", "minItems",
               "uniqueItems", "pattern", "enum")


def _type(node: dict) -> str:
    if "type" in node:
        t = node["type"]
        text = " or ".join(t) if isinstance(t, list) else t
        if text == "array" and "items" in node:
            text = f"list of {_type(node['items'])}"
        return text
    if "anyOf" in node:
        return " or ".join(_type(n) for n in node["anyOf"])
    return "any"


def _rule(node: dict) -> str:
    parts = []
    for k in CONSTRAINTS:
        if k in node:
            parts.append(f"{k} {json.dumps(node[k])}")
    items = node.get("items", {})
    for k in CONSTRAINTS:
        if k in items:
            parts.append(f"each: {k} {json.dumps(items[k])}")
    for alt in node.get("anyOf", []) + items.get("anyOf", []):
        for k in CONSTRAINTS:
            if k in alt:
                parts.append(f"{_type(alt)}: {k} {json.dumps(alt[k])}")
    return "; ".join(parts)


def rows(schema: dict) -> list[dict]:
    """One row per key of the schema, depth first, with dotted names (``dask.jobqueue.jobs``);
    the entries of ``sampler`` (``$defs/sampler``) as ``sampler.<key>``."""
    out: list[dict] = []

    def walk(props: dict, required: set, prefix: str):
        for name, node in props.items():
            key = prefix + name
            row = {"key": key, "type": _type(node), "rule": _rule(node),
                   "required": name in required, "description": node.get("description", "")}
            if "default" in node:
                row["default"] = json.dumps(node["default"])
            out.append(row)
            if "properties" in node:
                walk(node["properties"], set(node.get("required", ())), key + ".")
            if key == "sampler":
                entry = schema["$defs"]["sampler"]
                walk(entry["properties"], set(entry.get("required", ())), "sampler.")

    walk(schema["properties"], set(schema.get("required", ())), "")
    return out


def _cell(*children) -> nodes.entry:
    entry = nodes.entry()
    entry += nodes.paragraph("", "", *children)
    return entry


class ConfigReference(Directive):
    """Render :func:`rows` as one table."""

    has_content = False

    def run(self):
        from netsense.pipeline.config import schema

        headers = ("key", "type", "default", "meaning")
        table = nodes.table(classes=["netsense-config"])
        group = nodes.tgroup(cols=len(headers))
        table += group
        for width in (20, 12, 12, 56):
            group += nodes.colspec(colwidth=width)
        head = nodes.thead()
        row = nodes.row()
        for h in headers:
            row += _cell(nodes.Text(h))
        head += row
        group += head
        body = nodes.tbody()
        for r in rows(schema()):
            row = nodes.row(ids=[nodes.make_id(f"config-{r['key']}")])
            row += _cell(nodes.literal(r["key"], r["key"]))
            row += _cell(nodes.Text(r["type"]))
            if "default" in r:
                row += _cell(nodes.literal(r["default"], r["default"]))
            else:
                row += _cell(nodes.emphasis("", "required" if r["required"] else "none"))
            meaning = _cell(nodes.Text(r["description"]))
            if r["rule"]:
                meaning += nodes.paragraph("", "", nodes.emphasis("", "rule: "),
                                           nodes.Text(r["rule"]), classes=["netsense-rule"])
            row += meaning
            body += row
        group += body
        return [table]


class PublicNames(Directive):
    """A list of ``netsense.__all__``: each lazy name with a link to its definition and the
    first line of its docstring."""

    has_content = False

    def run(self):
        import netsense

        lines = []
        for name in netsense.__all__:
            if name.startswith("_") or name in ("open_cube", "summarize"):
                continue
            obj = getattr(netsense, name)
            if inspect.isclass(obj):
                role = "class"
            elif callable(obj):
                role = "func"
            else:
                role = "data"
                module = netsense._PUBLIC[name]
                lines.append(f"- ``netsense.{name}``: ``{name}`` of :mod:`netsense.{module}`")
                continue
            target = f"{obj.__module__}.{obj.__qualname__}"
            doc = (inspect.getdoc(obj) or "").split("\n\n")[0].replace("\n", " ")
            lines.append(f"- ``netsense.{name}``: :{role}:`{target}`. {escape_bars(doc)}")
        container = nodes.container()
        self.state.nested_parse(StringList(lines, source="netsense.__all__"), self.content_offset,
                                container)
        return container.children


# a literal (``...``) or an interpreted text with its role (:func:`...`), kept as it is
_KEEP = re.compile(r"(``.+?``|:[a-z:]+:`[^`]+`)")


def escape_bars(text: str) -> str:
    """``|`` -> ``\\|`` outside literals and roles (docstrings write |x| for an absolute value)."""
    parts = _KEEP.split(text)
    return "".join(p if i % 2 else re.sub(r"(?<!\\)\|", r"\\|", p) for i, p in enumerate(parts))


# a role whose target is relative (:mod:`.cube`, :func:`~.blocks.simulate_block`)
_RELATIVE = re.compile(r"(:[a-z]+(?::[a-z]+)?:`)(~?)\.([A-Za-z_][\w.]*)`")


@functools.cache
def _resolves(dotted: str) -> bool:
    """Whether ``dotted`` names a module or an attribute of one (imported, never guessed)."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for attr in parts[cut:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return False
        return True
    return False


def absolute_refs(text: str, module: str, is_package: bool) -> str:
    """Relative role targets made absolute, as Python reads them: ``.x`` in module ``a.b.m``
    is ``a.b.m.x`` if that exists (Sphinx's own first guess), else the sibling ``a.b.x``.
    Sphinx otherwise searches every object ending in ``.x``, and two modules named ``common``
    make that ambiguous (a warning)."""
    package = module if is_package else module.rpartition(".")[0]

    def fix(m):
        for base in dict.fromkeys((module, package)):
            if base and _resolves(f"{base}.{m[3]}"):
                return f"{m[1]}{m[2]}{base}.{m[3]}`"
        return m[0]

    return _RELATIVE.sub(fix, text)


def _process_docstring(app, what, name, obj, options, lines):
    module = name if what == "module" else getattr(obj, "__module__", None) or ""
    mod = sys.modules.get(module)
    is_package = bool(mod and getattr(mod, "__path__", None))
    in_literal_block = False
    for i, line in enumerate(lines):
        stripped = line.strip()
        if in_literal_block and stripped and not line.startswith((" ", "\t")):
            in_literal_block = False
        if not in_literal_block:
            lines[i] = escape_bars(absolute_refs(line, module, is_package) if module else line)
        if stripped.endswith("::"):
            in_literal_block = True


def setup(app):
    app.add_directive("netsense-config", ConfigReference)
    app.add_directive("netsense-public", PublicNames)
    # after napoleon (priority 500), on the reStructuredText it produced
    app.connect("autodoc-process-docstring", _process_docstring, priority=900)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
