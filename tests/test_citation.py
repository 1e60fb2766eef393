"""CITATION.cff is valid Citation File Format 1.2.0 and names this version and the paper.

``cffconvert --validate`` (the format's own validator) passes on it, but cannot be a test
dependency: its release pins jsonschema < 4, and the package needs jsonschema >= 4. This test
checks what that schema requires, and that the keys used are the format's (a misspelt key is
silently ignored by readers).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

import netsense

ROOT = Path(__file__).resolve().parents[1]
PAPER = "Performance Analysis of Network Sensing in the Distributed MIMO Radar System"

# the keys of CFF 1.2.0's root, reference and person/entity objects (schema.json of 1.2.0)
ROOT_KEYS = {"abstract", "authors", "cff-version", "commit", "contact", "date-released", "doi",
             "identifiers", "keywords", "license", "license-url", "message", "preferred-citation",
             "references", "repository", "repository-artifact", "repository-code", "title", "type",
             "url", "version"}
REFERENCE_KEYS = {"abstract", "authors", "conference", "date-published", "doi", "issue",
                  "journal", "keywords", "month", "notes", "pages", "publisher", "start", "end",
                  "title", "type", "url", "volume", "year", "collection-title", "identifiers"}
PERSON_KEYS = {"given-names", "family-names", "name-particle", "name-suffix", "affiliation",
               "email", "orcid", "alias", "website"}
ENTITY_KEYS = {"name", "email", "orcid", "website", "address", "city", "country"}
REFERENCE_TYPES = {"article", "conference-paper", "generic", "report", "unpublished"}


def _cff() -> dict:
    return yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))


def _check_authors(authors) -> None:
    assert isinstance(authors, list) and authors
    for a in authors:
        if "name" in a:  # an entity
            assert set(a) <= ENTITY_KEYS and a["name"].strip()
        else:  # a person
            assert set(a) <= PERSON_KEYS, set(a) - PERSON_KEYS
            assert a["family-names"].strip() and a["given-names"].strip()


def test_citation_is_cff_1_2_0_with_its_required_keys():
    cff = _cff()
    assert cff["cff-version"] == "1.2.0"
    assert set(cff) <= ROOT_KEYS, set(cff) - ROOT_KEYS
    for key in ("message", "title", "authors"):
        assert cff.get(key), key
    assert cff["type"] == "software"
    _check_authors(cff["authors"])
    assert re.fullmatch(r"[A-Za-z0-9.+-]+", cff["license"])


def test_citation_version_is_the_package_version():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert str(_cff()["version"]) == project["version"]
    # netsense.__version__ is read from the installed metadata (0.0.0+src without one)
    assert netsense.__version__ in (project["version"], "0.0.0+src")


def test_citation_prefers_the_paper_it_implements():
    ref = _cff()["preferred-citation"]
    assert set(ref) <= REFERENCE_KEYS, set(ref) - REFERENCE_KEYS
    assert ref["type"] in REFERENCE_TYPES
    assert ref["title"] == PAPER
    _check_authors(ref["authors"])
    # the paper's six authors, in its order (the README names them the same way)
    assert [a["family-names"] for a in ref["authors"]] == ["Song", "Zhi", "Yang", "Li", "Ciblat",
                                                           "Caire"]
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    assert PAPER in readme and "Y. Song, K. Zhi, T. Yang, S. Li, P. Ciblat, G. Caire" in readme
