"""Integrity of a stored cube: every chunk checksummed, a flipped bit named (variable, cell, file)
by `netsense query`, `info` and `verify`, old formats read, unknown ones refused, and every array
readable by a second zarr v3 implementation (tensorstore).

Cubes are assembled here from the real shard runner (synchronous); the repair by the workflow is
tests/workflow/test_repair.py.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

import netsense
from netsense.cli.main import main
from netsense.core.blocks import simulate_block
from netsense.errors import CubeError
from netsense.pipeline.assembly import assemble
from netsense.pipeline.config import resolve
from netsense.pipeline.cube import FORMAT, FORMATS
from netsense.pipeline.integrity import scan, verify
from netsense.pipeline.plan import cell_slots, plan
from netsense.pipeline.shard import run_shard
from netsense.pipeline.template import code_versions, scales_m2

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
BASE = {
    "name": "integ", "seed": 5, "trials": 600, "block_trials": 200, "shard_blocks": 3,
    "sweep": {"M": [1, 4], "rho_s_db": [110, 120], "lam": ["1/400", "1/900"],
              "gamma": [2.5, 4.0]},
    "sampler": [{"kind": "plane", "nearest": 16}, {"kind": "disk", "radius_m": 300}],
    "cube": {"trial_chunk": 256},
}
FLIP_SEED = 20261201


def _tiny() -> dict:
    """The sweep both old-format fixtures were written from (their generator's ``TINY``)."""
    src = (FIXTURES / "make_cube_fixtures.py").read_text()
    return yaml.safe_load(src.split('TINY = """\\\n', 1)[1].split('"""', 1)[0])


def build(run: Path, raw: dict) -> Path:
    cfg = resolve(raw)
    sh = plan(cfg)
    files = [run / "shards" / f"{s.name}.npz" for s in sh]
    for s, f in zip(sh, files, strict=True):
        f.parent.mkdir(parents=True, exist_ok=True)
        run_shard(s.params(cfg), f, run / "blocks" / s.cell_id,
                  lambda: contextlib.nullcontext(None), log=io.StringIO())
    out = run / "cube.zarr"
    assemble(cfg, files, out, code_versions(cfg))
    return out


@pytest.fixture(scope="module")
def cube(tmp_path_factory) -> Path:
    return build(tmp_path_factory.mktemp("integ"), BASE)


@pytest.fixture
def copy(cube, tmp_path) -> Path:
    dst = tmp_path / "cube.zarr"
    shutil.copytree(cube, dst)
    return dst


def crc32c_naive(data: bytes) -> int:
    """CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), bit by bit: RFC 3720, B.4."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def array_names(cube: Path) -> list[str]:
    meta = json.loads((cube / "zarr.json").read_text())["consolidated_metadata"]["metadata"]
    return sorted(k for k, v in meta.items() if v["node_type"] == "array")


def flip_bit(file: Path, rng, inner: int | None = None) -> None:
    """Flip one bit of a chunk file; of inner chunk ``inner`` of a shard file (the factors of
    format 4), found from the shard's index."""
    b = bytearray(file.read_bytes())
    lo, hi = 0, len(b)
    if inner is not None:
        index = _shard_index(b)
        lo, hi = int(index[inner][0]), int(index[inner][0] + index[inner][1])
    i = lo + int(rng.integers(hi - lo))
    b[i] ^= 1 << int(rng.integers(8))
    file.write_bytes(bytes(b))


def _shard_index(data) -> np.ndarray:
    """The (offset, nbytes) pairs of a shard's inner chunks: 16 bytes each, then a CRC-32C, at
    the end; as many as a factor's shard holds (the array's metadata says)."""
    # the index is the last 16 n + 4 bytes: find n from the last entry's consistency
    for n in range(1, 4097):
        size = 16 * n + 4
        if size > len(data):
            break
        idx = np.frombuffer(bytes(data[-size:-4]), dtype="<u8").reshape(n, 2)
        if int.from_bytes(bytes(data[-4:]), "little") == crc32c_naive(bytes(data[-size:-4])):
            return idx
    raise AssertionError("no shard index")


def test_crc32c_reference():
    assert crc32c_naive(b"123456789") == 0xE3069283  # the check value of RFC 3720 / iSCSI


def test_every_chunk_of_every_array_ends_in_its_crc32c(cube):
    """Format 4: the factors' shard files, one per (sampler, lam, gamma) here, hold inner
    chunks that each end in their CRC-32C, then an index with its own; every other array's
    chunk file ends in its CRC-32C."""
    names = array_names(cube)
    assert {"g18", "g23", "scale_m2", "closed_form_m2", "control_mean_m2", "sampler", "M",
            "rho_s_db", "lam", "gamma", "trial"} == set(names)
    n = 0
    for name in names:
        meta = json.loads((cube / name / "zarr.json").read_text())
        codecs = [c["name"] for c in meta["codecs"]]
        assert meta["data_type"] in ("float64", "int64"), name  # core zarr v3 types only
        files = sorted(f for f in (cube / name / "c").rglob("*") if f.is_file())
        if name in ("g18", "g23"):
            conf = meta["codecs"][0]["configuration"]
            assert codecs == ["sharding_indexed"]
            assert [c["name"] for c in conf["codecs"]] == ["bytes", "zstd", "crc32c"]
            assert [c["name"] for c in conf["index_codecs"]] == ["bytes", "crc32c"]
            assert len(files) == 2 * 2 * 2  # one shard file per (sampler, lam, gamma)
            data = files[0].read_bytes()
            for off, nb in _shard_index(data):  # 3 inner chunks of 256, 256 and 88 trials
                chunk = data[int(off):int(off + nb)]
                assert crc32c_naive(chunk[:-4]) == int.from_bytes(chunk[-4:], "little")
        else:
            assert codecs == ["bytes", "zstd", "crc32c"], name
            for f in files[:2]:  # the bitwise reference is slow: a sample of files
                data = f.read_bytes()
                assert crc32c_naive(data[:-4]) == int.from_bytes(data[-4:], "little"), f
                n += 1
    cfg = resolve(BASE)
    per_factor = len(cfg.samplers) * 2 * 2 * -(-cfg.trials // 256)  # inner chunks
    problems, checked = scan(cube)
    assert problems == [] and checked == 2 * per_factor + 9  # every chunk, 9 one-chunk arrays


@pytest.mark.parametrize("var, key, inner, where", [
    ("g18", "c/1/0/0/0", 2, "sampler=disk-R300 lam=0.00111111 gamma=2.5 trials [512, 600)"),
    ("g23", "c/0/1/1/0", 0, "sampler=plane-K16 lam=0.0025 gamma=4 trials [0, 256)"),
    ("lam", "c/0", None, "lam [0, 2)"),
    ("sampler", "c/0", None, "sampler [0, 2)"),
    ("closed_form_m2", "c/0/0/0/0", None, "M [0, 2) rho_s_db [0, 2) lam [0, 2) gamma [0, 2)"),
    ("scale_m2", "c/0/0", None, "M [0, 2) rho_s_db [0, 2)"),
])
def test_flipped_bit_is_named_by_query_info_and_verify(copy, capsys, var, key, inner, where):
    flip_bit(copy / var / key, np.random.default_rng(FLIP_SEED), inner)
    args = ["query", str(copy), "--where", "sampler=disk-R300", "--where", "M=4",
            "--where", "rho_s_db=110", "--where", "lam=1/900", "--where", "gamma=2.5"] \
        if var == "g18" else ["query", str(copy)]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"checksum mismatch: {var} at {where} ({var}/{key})" in err[0], err
    assert "nothing was computed from it" in err[0]
    # info reads the coordinates, the per-point variables (open_cube loads them) and crlb_m2
    # (g18 and scale_m2, to count filled points), not jensen_m2's factor
    reads = var != "g23"
    assert main(["info", str(copy)]) == (2 if reads else 0)
    assert (f"{var}/{key}" in capsys.readouterr().err) is reads
    assert main(["verify", str(copy), "--quiet"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"netsense: verify: checksum mismatch: {var} at {where} ({var}/{key})"
    assert "1 problem(s)" in out[-1]


def test_library_summarize_raises_one_cube_error(copy):
    flip_bit(copy / "g18" / "c/0/0/1/0", np.random.default_rng(FLIP_SEED), 1)
    ds = netsense.open_cube(copy)
    with pytest.raises(CubeError, match=r"g18 at sampler=plane-K16 lam=0.00111111 gamma=4 "
                       r"trials \[256, 512\)"):
        netsense.summarize(ds, where={"sampler": "plane-K16", "M": 4, "rho_s_db": 120})
    # another sampled point (another lam) reads only its own chunks: sound, and answered at
    # every (M, rho_s)
    df = netsense.summarize(ds, where={"sampler": "plane-K16", "lam": "1/400"})
    assert len(df) == 8 and np.isfinite(df["crlb_m2_mean"]).all()


def test_verify_sound_missing_and_metadata(cube, copy, capsys):
    assert main(["verify", str(cube), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "sound" in out and "format 4" in out
    (copy / "g23" / "c/1/0/0/0").unlink()
    meta = json.loads((copy / "M" / "zarr.json").read_text())
    meta["shape"] = [3]
    (copy / "M" / "zarr.json").write_text(json.dumps(meta))
    rep = verify(copy, progress=False)
    lines = [p.line() for p in rep.problems]
    assert "missing: g23 at sampler=disk-R300 lam=0.00111111 gamma=2.5 trials [0, 600) " \
        "(g23/c/1/0/0/0)" in lines
    assert "array metadata differs from the consolidated copy in zarr.json: M (M/zarr.json)" \
        in lines
    assert main(["verify", str(copy), "--json", "--quiet"]) == 1
    d = json.loads(capsys.readouterr().out)
    assert d["sound"] is False and len(d["problems"]) == len(rep.problems)


def test_incomplete_cube_is_not_sound(copy):
    root = json.loads((copy / "zarr.json").read_text())
    root["attributes"]["netsense_complete"] = False
    (copy / "zarr.json").write_text(json.dumps(root))
    assert any("incomplete" in p.reason for p in verify(copy, progress=False).problems)


@pytest.mark.parametrize("fmt", [FORMAT + 1, "3", None, True])
def test_unknown_format_is_refused_on_one_line(copy, capsys, fmt):
    root = json.loads((copy / "zarr.json").read_text())
    root["attributes"]["netsense_format"] = fmt
    (copy / "zarr.json").write_text(json.dumps(root))
    supported = ", ".join(map(str, FORMATS))
    with pytest.raises(CubeError, match=f"cube format {fmt!r} is not one this netsense reads "
                       rf"\(formats {supported}\)"):
        netsense.open_cube(copy)
    assert main(["query", str(copy)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"cube format {fmt!r}" in err[0]


def test_tensorstore_reads_every_array_and_checks_the_checksum(copy):
    import tensorstore as ts
    import xarray as xr

    def ts_read(name):
        spec = {"driver": "zarr3", "kvstore": {"driver": "file", "path": str(copy / name)}}
        return ts.open(spec, open=True).result().read().result()

    raw = xr.open_zarr(copy, decode_cf=False, mask_and_scale=False)
    for name in array_names(copy):
        a, b = ts_read(name), raw[name].values
        assert a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes(), name
    flip_bit(copy / "g18" / "c/0/0/0/0", np.random.default_rng(FLIP_SEED), 0)
    with pytest.raises(ValueError, match=r"DATA_LOSS.*Digest mismatch"):
        ts_read("g18")
    # and the variables are one multiplication away (the store's "variables" attribute)
    readers = json.loads((copy / "zarr.json").read_text())["attributes"]["variables"]
    assert {r["name"]: (r["factor"], r["scale"]) for r in readers} == {
        "crlb_m2": ("g18", "scale_m2"), "jensen_m2": ("g23", "scale_m2")}


# ---- cubes of older formats -------------------------------------------------------------------


# A statistic of a format-4 cube is taken on the stored factor and then scaled, one rounding in
# another order than the per-point statistic of formats 1-3 (measured: 1.6e-16 relative here;
# tests/analysis/test_per_sampled_point.py bounds it on larger cubes).
PER_SAMPLED_POINT_RTOL = 1e-11


def test_old_formats_are_read_as_today_bit_for_bit(tmp_path):
    """Every fixture holds exactly what today's sampler gives for its sweep, bit for bit through
    open_cube, so a cube of any format answers a query with the same numbers as one written now
    (format 4's statistics to rounding: they are taken once per sampled point)."""
    raw = _tiny()
    cfg = resolve(raw)
    today = build(tmp_path / "now", raw)
    cubes = {1: FIXTURES / "cube-format1.zarr", 2: FIXTURES / "cube-format2.zarr",
             3: FIXTURES / "cube-format3.zarr", 4: today}
    scale = scales_m2(cfg)  # (M, rho)
    for fmt, path in cubes.items():
        ds = netsense.open_cube(path)
        assert ds.attrs["netsense_format"] == fmt
        assert ds.crlb_m2.dims == ("sampler", "M", "rho_s_db", "lam", "gamma", "trial")
        assert ds.sampler.values.tolist() == ["plane-K8"]
        assert json.loads(str(ds.sampler_spec.values[0])) == {"beam": "full", "kind": "plane",
                                                             "nearest": 8}
        for cell, _, _, idx in cell_slots(cfg):
            i, j = idx["lam"], idx["gamma"]
            blocks = [simulate_block(cfg.seed, cell.sampler, cell.param("lam_t"), cell.gamma, b,
                                     cfg.block_trials) for b in range(2)]
            for var, f in (("crlb_m2", "g18"), ("jensen_m2", "g23")):
                want = scale[:, :, None] * np.concatenate([b[f] for b in blocks])[None, None]
                got = ds[var].isel(sampler=0, lam=i, gamma=j).values
                assert got.tobytes() == want.tobytes(), (fmt, var, cell.describe())
    rows = {fmt: netsense.summarize(netsense.open_cube(p), stats=["mean", "ci95", "plain",
                                                                  "ratio"])
            for fmt, p in cubes.items()}
    for col in ("crlb_m2_mean", "crlb_m2_mean_ci95_low", "crlb_m2_plain_mean",
                "jensen_m2_mean", "crlb_m2_mean_over_closed_form"):
        for fmt in (1, 2):  # the same per-point statistics of the same numbers
            np.testing.assert_array_equal(rows[fmt][col].values, rows[3][col].values)
        # format 4: taken once per sampled point on the stored factors, then scaled
        np.testing.assert_allclose(rows[4][col].values, rows[3][col].values,
                                   rtol=PER_SAMPLED_POINT_RTOL, atol=0)


def test_old_format_through_the_cli(capsys):
    for fmt in (1, 2, 3):
        path = FIXTURES / f"cube-format{fmt}.zarr"
        assert main(["query", str(path), "--where", "gamma=4", "--format", "json"]) == 0
        got = json.loads(capsys.readouterr().out)
        assert len(got) == 4 and {r["sampler"] for r in got} == {"plane-K8"}
        assert {r["lam"] for r in got} == {1 / 400, 1 / 900}  # full precision, as in CSV
        assert main(["info", str(path)]) == 0
        assert f"format {fmt}" in capsys.readouterr().out
        assert main(["verify", str(path), "--quiet"]) == 0  # readable (format 3: checksummed)
        assert ("no chunk checksums" in capsys.readouterr().err) is (fmt < 3)


def test_fit_on_a_corrupt_cube_is_one_line_and_writes_nothing(copy, tmp_path, capsys):
    """The workflow's analysis commands read through the same hook as query."""
    flip_bit(copy / "g23" / "c/0/1/0/0", np.random.default_rng(FLIP_SEED), 1)
    out = tmp_path / "out"
    out.mkdir()
    assert main(["fit", str(copy), "--csv", str(out / "s.csv"), "--json", str(out / "s.json")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "checksum mismatch: g23 at sampler=plane-K16 lam=0.0025 " \
        "gamma=2.5 trials [256, 512) (g23/c/0/1/0/0)" in err[0]
    assert list(out.iterdir()) == []


@pytest.mark.parametrize("command", ["figure", "study"])
def test_figure_and_study_name_the_cube_they_read(cube, copy, tmp_path, capsys, command):
    """A corrupt chunk met anywhere in a command's code is named in the cube the command was
    given, whatever other cube the process read before."""
    other = tmp_path / "other.zarr"
    shutil.copytree(cube, other)
    flip_bit(other / "g18" / "c/0/0/0/0", np.random.default_rng(FLIP_SEED), 0)
    with pytest.raises(CubeError, match=r"other\.zarr: corrupt chunk"):
        netsense.summarize(netsense.open_cube(other))
    rng = np.random.default_rng(FLIP_SEED)
    for f in sorted((copy / "g23" / "c").rglob("*")):
        if f.is_file():
            flip_bit(f, rng, 0)
    out = tmp_path / "out"
    out.mkdir()
    (tmp_path / "slopes.json").write_text("[]")
    args = ["--outdir", str(out)] if command == "study" else \
        ["--png", str(out / "f.png"), "--pdf", str(out / "f.pdf")]
    assert main([command, str(copy), "--slopes", str(tmp_path / "slopes.json"), *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"netsense: error: {copy}: corrupt chunk, "
                                               "checksum mismatch: g23 at "), err
    assert list(out.iterdir()) == []


def test_nearest_says_what_it_took(capsys):
    """--nearest never substitutes silently (issue 19): one line per substituted key."""
    path = FIXTURES / "cube-format2.zarr"
    assert main(["query", str(path), "--where", "gamma=3.2", "--where", "M=4", "--nearest",
                 "--stats", "mean", "--format", "csv"]) == 0  # no interval: no note on it
    cap = capsys.readouterr()
    assert cap.err.strip().splitlines() == [
        "netsense: --nearest: gamma=3.2 is not stored; took the nearest, gamma=2.5"]
    assert {line.split(",")[4] for line in cap.out.strip().splitlines()[1:]} == {"2.5"}
    assert main(["query", str(path), "--where", "gamma=4", "--nearest"]) == 0
    assert "--nearest" not in capsys.readouterr().err  # an exact match substitutes nothing


def test_fit_log_counts_each_distinct_fit_once(cube):
    """fit.log (issue 19): the lam slope of one (sampler, quantity, gamma) is the same fit at every
    (M, rho_s); counted once, with what a miss means per sampler."""
    from netsense.analysis.fits import fit_slopes, fit_summary

    ds = netsense.open_cube(cube)
    rows = fit_slopes(ds)
    lines = fit_summary(rows, {"plane-K16": True, "disk-R300": False})
    # per gamma (2): the closed form along rho_s, M and lam (3); per sampler (2) x quantity (2):
    # one lam slope, and the exact M and rho_s slopes, one per lam value (2 each)
    n_gamma, n_mc = 2, 2 * 2
    exact = n_gamma * (3 + n_mc * (2 + 2))
    assert lines[0].startswith(f"netsense: {len(rows)} slope rows, {exact + n_gamma * n_mc} "
                               "distinct fits")
    assert f"{exact} of {exact} equal theory" in lines[1]
    plane = next(x for x in lines if "of plane-K16:" in x)
    disk = next(x for x in lines if "of disk-R300:" in x)
    assert f"of plane-K16: {n_gamma * 2}," in plane and "expected by chance" in plane
    assert "not scale-free" in disk


# ---- each metadata check of verify on its own --------------------------------------------------


def _edit(path: Path, change) -> None:
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc))


def _attrs(change):
    return lambda c: _edit(c / "zarr.json", lambda d: change(d["attributes"]))


def _array(name, change):
    """Change an array's metadata in both its own zarr.json and the consolidated copy."""
    def edit(c):
        _edit(c / name / "zarr.json", change)
        _edit(c / "zarr.json", lambda d: change(d["consolidated_metadata"]["metadata"][name]))
    return edit


def _drop_array(name):
    def edit(c):
        shutil.rmtree(c / name)
        _edit(c / "zarr.json", lambda d: d["consolidated_metadata"]["metadata"].pop(name))
    return edit


def _stored_sweep(change):
    def edit(a):
        cfg = json.loads(a["config_json"])
        change(cfg["sweep"])
        a["config_json"] = json.dumps(cfg)
    return _attrs(edit)


METADATA_CASES = [
    # (what, change to a sound cube, the one problem verify's metadata checks report)
    ("unknown format", _attrs(lambda a: a.__setitem__("netsense_format", FORMAT + 1)),
     f"unknown cube format {FORMAT + 1}"),
    ("incomplete", _attrs(lambda a: a.__setitem__("netsense_complete", False)),
     "incomplete (no completeness marker"),
    ("not consolidated", lambda c: _edit(c / "zarr.json",
                                         lambda d: d.pop("consolidated_metadata")),
     "no consolidated metadata"),
    ("an array's metadata unreadable", lambda c: (c / "gamma" / "zarr.json").write_text("{"),
     "array metadata unreadable (JSONDecodeError): gamma"),
    ("a stored factor missing", _drop_array("g23"), "array missing: g23"),
    ("trials against the attributes", _attrs(lambda a: a.__setitem__("trials", 601)),
     "600 trials stored, 601 in the attributes"),
    ("an axis against the stored config", _stored_sweep(lambda s: s["gamma"].append(5.0)),
     "dimension gamma has 2 values, the stored config 3"),
    ("samplers attribute", _attrs(lambda a: a["samplers"].pop()),
     "the 'samplers' attribute does not list one entry per sampler"),
    ("a dimension's length", _array("closed_form_m2", lambda m: m["shape"].__setitem__(1, 3)),
     "dimension rho_s_db has length"),
]


@pytest.fixture
def meta_copy(cube, tmp_path) -> Path:
    """A copy of the cube whose metadata files are its own and whose chunk files are hard
    links (the metadata checks read no chunk; copying them all costs a second a test)."""
    import os

    dst = tmp_path / "cube.zarr"
    shutil.copytree(cube, dst, copy_function=os.link)
    for f in dst.rglob("zarr.json"):
        data = f.read_bytes()
        f.unlink()
        f.write_bytes(data)
    return dst


def test_the_sound_cube_has_no_metadata_problem(cube):
    from netsense.pipeline.integrity import metadata_problems

    assert metadata_problems(cube) == []


@pytest.mark.parametrize("what, change, line", METADATA_CASES, ids=[c[0] for c in METADATA_CASES])
def test_each_metadata_check_finds_its_problem_alone(meta_copy, what, change, line):
    from netsense.pipeline.integrity import metadata_problems

    change(meta_copy)
    found = [p.line() for p in metadata_problems(meta_copy)]
    assert any(line in x for x in found), (what, found)
    if what != "a dimension's length":  # a wrong length also disagrees with the stored config
        assert len(found) == 1, (what, found)


# ---- the workflow's repair marker: each of its guards on its own -------------------------------


@pytest.fixture
def marker(tmp_path):
    """A repair marker path."""
    return tmp_path / "repair" / "cube.repair"


def _untouched(m: Path) -> bool:
    return m.read_text() == "no repair yet\n" and m.stat().st_mtime == 0


def test_repair_marker_of_a_sound_cube_stays_older_than_any_cube(cube, marker):
    from netsense.pipeline.integrity import check_for_repair, repair_marker

    assert check_for_repair(cube, marker) is True
    assert _untouched(marker)
    assert repair_marker(marker) == str(marker) and _untouched(marker)


@pytest.mark.parametrize("fault", ["flipped bit", "missing chunk", "metadata", "unreadable"])
def test_repair_marker_is_rewritten_for_each_kind_of_fault(copy, marker, fault):
    from netsense.pipeline.integrity import check_for_repair, repair_marker

    if fault == "flipped bit":
        flip_bit(copy / "g23" / "c/1/0/1/0", np.random.default_rng(FLIP_SEED), 0)
        want = "checksum mismatch: g23 at sampler=disk-R300 lam=0.00111111 gamma=4 trials [0, 256)"
    elif fault == "missing chunk":
        (copy / "g18" / "c/0/1/0/0").unlink()
        want = "missing: g18 at sampler=plane-K16 lam=0.0025 gamma=2.5"
    elif fault == "metadata":
        _attrs(lambda a: a.__setitem__("trials", 601))(copy)
        want = "600 trials stored, 601 in the attributes"
    else:
        (copy / "zarr.json").write_text("{")
        want = "unreadable metadata (JSONDecodeError"
    log = io.StringIO()
    assert check_for_repair(copy, marker, log=log) is True
    text = marker.read_text()
    assert not _untouched(marker) and "1 problem(s); assembled again" in text
    assert want in text and want in log.getvalue(), text
    assert repair_marker(marker) == str(marker) and marker.read_text() == text  # kept


def test_repair_marker_alone_checks_nothing_and_each_check_checks_again(copy, marker):
    """A cluster job's parse only names the marker; the once-per-DAG-build state is the
    workflow's (workflow/rules/common.smk), so each check here reads the cube again."""
    from netsense.pipeline.integrity import check_for_repair, repair_marker

    (copy / "g18" / "c/0/1/0/0").unlink()
    assert repair_marker(marker) == str(marker)
    assert _untouched(marker)
    check_for_repair(copy, marker)
    first = marker.read_text()
    marker.write_text("no repair yet\n")
    check_for_repair(copy, marker)
    assert first != "no repair yet\n" and marker.read_text().split(" ", 1)[1] == \
        first.split(" ", 1)[1]  # the same problems, stamped again


def test_repair_marker_without_a_cube_or_with_an_old_format(tmp_path, marker):
    """No cube yet: nothing to check. A format-2 cube has no checksums; it is left to the code
    version, even with a chunk file missing (which the scan would report)."""
    from netsense.pipeline.integrity import check_for_repair

    assert check_for_repair(tmp_path / "none.zarr", marker) is False and _untouched(marker)
    old = tmp_path / "f2.zarr"
    shutil.copytree(FIXTURES / "cube-format2.zarr", old)
    next(f for f in sorted((old / "crlb_m2").rglob("*")) if f.is_file() and
         f.name != "zarr.json").unlink()
    assert scan(old)[0]  # the scan alone would call it unsound
    assert check_for_repair(old, marker) is True
    assert _untouched(marker)
