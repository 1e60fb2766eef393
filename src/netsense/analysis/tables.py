"""Writing result tables: rows (dicts) as CSV and/or JSON, the one writer of every table.

CSV cells hold floats as ``repr`` (exact round trip); JSON is indented, one row per object,
optionally under ``{"meta": ..., "rows": [...]}``.
"""

from __future__ import annotations

import csv
import json


def write_rows(rows: list[dict], csv_path=None, json_path=None, columns=None,
               meta: dict | None = None) -> None:
    """Write ``rows`` to ``csv_path`` (columns: ``columns``, default the first row's keys) and/or
    ``json_path`` (a list of rows; with ``meta``, ``{"meta": meta, "rows": rows}``)."""
    if csv_path:
        cols = list(columns) if columns is not None else (list(rows[0]) if rows else [])
        with open(csv_path, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=cols)
            w.writeheader()
            for r in rows:
                w.writerow({k: (repr(v) if isinstance(v, float) else v)
                            for k, v in r.items()})
    if json_path:
        with open(json_path, "w") as fh:
            if meta is None:
                json.dump(rows, fh, indent=1)
            else:
                json.dump({"meta": meta, "rows": list(rows)}, fh, indent=1)
                fh.write("\n")
