"""The open-data package (issue 20, section 3): only published results, validated by the
`frictionless` library, every column titled and described in Indonesian and English, the
numbers the core computes, no personal data, formula-like names neutralised, the same bytes
from the same data, written only into a new, empty or previous-package folder, audited."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from pathlib import Path

import pytest
from frictionless import Package

from metrics import admin, exports, opendata, personal, scoring, views
from metrics.auth import ANONYMOUS, SYSTEM, User
from metrics.demo import YEARS
from metrics.errors import CoreError, PermissionDenied, ValidationError
from metrics.governance import load_registry_bytes
from metrics.ingest import ingest_bytes
from tests.conftest import ASSESS_CSV

YEAR = YEARS[-1]
VIEWER = User("tamu", "viewer")
HOSTILE = '=HYPERLINK("http://evil.example";"klik")'


def _publish(store) -> None:
    admin.set_public_read(store, SYSTEM, True)


def _write(files: dict[str, bytes], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (folder / name).write_bytes(content)
    return folder / opendata.DATAPACKAGE


def _csv_rows(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8"))))


def _typed(cell: str) -> object:
    """A CSV cell as the number it writes, else its text."""
    for kind in (int, float):
        try:
            return kind(cell)
        except ValueError:
            pass
    return cell


def _num(text: str) -> float | None:
    return None if text == "" else float(text)


@pytest.fixture
def mini_scored(mini):
    """The mini store with the hand-computed 2023 answers (tests/conftest.py ASSESS_CSV)."""
    assert ingest_bytes(mini, SYSTEM, ASSESS_CSV, "a.csv").accepted
    return mini


# ------------------------------------------------------------------ frictionless, both languages


def test_the_demo_package_validates_with_frictionless_and_describes_every_column_in_two_languages(
    demo_store, tmp_path
):
    _publish(demo_store)
    files = opendata.package_files(demo_store, ANONYMOUS, YEAR)
    assert sorted(files) == sorted(opendata.FILE_NAMES)
    report = Package(str(_write(files, tmp_path / "pkg"))).validate()
    assert report.valid, report.flatten(["resource", "rowNumber", "fieldName", "type", "note"])
    # every CSV resource was read row by row against its schema (types, constraints, keys, hash)
    rows = {task.name: task.stats.get("rows", 0) for task in report.tasks}
    assert all(rows[tb.name] > 0 for tb in opendata.TABLES)

    dp = json.loads(files[opendata.DATAPACKAGE])
    assert dp["licenses"] == [
        {
            "name": "CC-BY-4.0",
            "path": "https://creativecommons.org/licenses/by/4.0/",
            "title": "Creative Commons Attribution 4.0 International",
        }
    ]
    assert dp["year"] == YEAR and dp["framework_id"] == "default-2024"
    assert dp["contributors"] == [{"title": "Indeks Kota Cerdas", "role": "publisher"}]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", dp["created"])
    # the standard description carries both languages, and says how text cells are neutralised
    assert "apostrof" in dp["description"] and "apostrophe" in dp["description"]
    assert "=, +, -, @" in dp["description_en"]
    assert [r["name"] for r in dp["resources"]] == [*(tb.name for tb in opendata.TABLES), "results"]
    for res in dp["resources"]:
        assert res["title"] and res["title_en"] and res["description"] != res["description_en"]
        assert res["hash"].startswith("sha256:") and res["bytes"] == len(files[res["path"]])
    for res in dp["resources"][:-1]:
        header = next(csv.reader(io.StringIO(files[res["path"]].decode("utf-8"))))
        fields = res["schema"]["fields"]
        assert [f["name"] for f in fields] == header
        for f in fields:
            assert f["title"].strip() and f["title_en"].strip(), f["name"]
            assert f["description"].strip() and f["description_en"].strip(), f["name"]
            assert f["title"] != f["title_en"] and f["description"] != f["description_en"], f["name"]


def test_a_licence_from_the_short_list_can_be_chosen_and_others_are_refused(mini_scored):
    _publish(mini_scored)
    files = opendata.package_files(mini_scored, SYSTEM, 2023, license="CC0-1.0")
    assert json.loads(files[opendata.DATAPACKAGE])["licenses"][0]["name"] == "CC0-1.0"
    assert json.loads(files[opendata.RESULTS_JSON])["license"] == "CC0-1.0"
    with pytest.raises(ValidationError) as exc:
        opendata.package_files(mini_scored, SYSTEM, 2023, license="GPL-3.0")
    assert "GPL-3.0" in exc.value.message("en") and "CC-BY-4.0" in exc.value.message("en")
    from metrics.cli import PUBLISH_LICENSES  # the CLI's choices are the core's list

    assert tuple(opendata.LICENSES) == PUBLISH_LICENSES


# ------------------------------------------------------------------ the numbers the core computes


def test_the_mini_package_holds_the_hand_computed_scores(mini_scored):
    _publish(mini_scored)
    files = opendata.package_files(mini_scored, ANONYMOUS, 2023)
    # 0202 has no data in 2023: not a result, not in the package
    (city,) = _csv_rows(files["cities.csv"])
    assert city["city_code"] == "0101" and city["city_name"] == "Kota Uji"
    assert (city["province"], city["category"], city["year"], city["framework_id"]) == (
        "Jawa Barat",
        "kecil",
        "2023",
        "mini-2023",
    )
    # index = 0.4 * 1.5 + 0.6 * 2.0 (see test_scoring.py for the arithmetic)
    assert float(city["index"]) == pytest.approx(1.8, abs=1e-12)
    assert (city["band_id"], city["band_en"]) == ("Rintisan", "Initiating")
    assert (city["national_rank"], city["province_rank"], city["category_rank"]) == ("1", "1", "1")
    assert float(city["completeness"]) == pytest.approx(0.8)  # 4 of 5 (indicator, OPD) pairs
    assert (city["indicators"], city["missing"]) == ("4", "1")
    dims = {r["dimension_code"]: r for r in _csv_rows(files["dimensions.csv"])}
    assert {k: float(r["value"]) for k, r in dims.items()} == {"OUTPUT": 1.5, "OUTCOME": 2.0}
    assert (dims["OUTPUT"]["dimension_name_id"], dims["OUTPUT"]["dimension_name_en"]) == (
        "Keluaran",
        "Output",
    )
    assert (dims["OUTPUT"]["method"], float(dims["OUTCOME"]["weight"])) == ("rubric", 0.6)
    pillars = {r["pillar_code"]: r for r in _csv_rows(files["pillars.csv"])}
    assert {k: float(r["value"]) for k, r in pillars.items()} == {"GOV": 3.0, "ENV": 0.75, "GOV.PUB": 3.0}
    assert (pillars["GOV.PUB"]["parent_pillar_code"], pillars["GOV"]["parent_pillar_code"]) == ("GOV", "")
    inds = [
        (r["indicator_code"], r["pillar_code"], r["subpillar_code"], _num(r["effective_level"]), r["source"])
        for r in _csv_rows(files["indicators.csv"])
    ]
    # G2: the mean of two OPDs' 2 and 4; E2: nobody answered
    assert inds == [
        ("E1", "ENV", "", 1.0, "self"),
        ("E2", "ENV", "", None, "missing"),
        ("G1", "GOV", "GOV.PUB", 3.0, "self"),
        ("G2", "GOV", "", 3.0, "self"),
    ]
    results = json.loads(files[opendata.RESULTS_JSON])
    (c,) = results["cities"]
    assert c["index"] == float(city["index"]) and c["band_en"] == "Initiating"
    assert [(d["dimension_code"], d["value"]) for d in c["dimensions"]] == [("OUTPUT", 1.5), ("OUTCOME", 2.0)]
    assert [(i["indicator_code"], i["effective_level"]) for i in c["indicators"]][:2] == [
        ("E1", 1.0),
        ("E2", None),
    ]


def test_the_demo_package_equals_the_cores_scores_levels_and_ranks(demo_store):
    _publish(demo_store)
    files = opendata.package_files(demo_store, ANONYMOUS, YEAR)
    scores = {s.city_code: s for s in scoring.score(demo_store, [YEAR])}
    cities = {c.city_code: c for c in demo_store.cities()}
    rows = _csv_rows(files["cities.csv"])
    assert len(rows) >= 5 and [r["city_code"] for r in rows] == sorted(r["city_code"] for r in rows)
    dims = _csv_rows(files["dimensions.csv"])
    pillars = _csv_rows(files["pillars.csv"])
    inds = _csv_rows(files["indicators.csv"])
    for r in rows:
        s = scores[r["city_code"]]
        # full precision: the CSV text reads back as the very double the core computed
        assert float(r["index"]) == s.index and _num(r["completeness"]) == s.completeness
        assert r["band_id"] == s.band.label["id"] and r["band_en"] == s.band.label["en"]
        ranks = {v.scope: v.rank for v in views.city_ranks(demo_store, cities, s.city_code, YEAR)}
        assert (int(r["national_rank"]), int(r["province_rank"]), int(r["category_rank"])) == (
            ranks["national"],
            ranks["province"],
            ranks["category"],
        )
        assert {d["dimension_code"]: _num(d["value"]) for d in dims if d["city_code"] == s.city_code} == (
            s.dimensions
        )
        mine = {p["pillar_code"]: _num(p["value"]) for p in pillars if p["city_code"] == s.city_code}
        assert mine == {**s.pillars, **s.subpillars}
        levels = {
            lv.code: (lv.effective, lv.source)
            for lv in scoring.indicator_levels(demo_store, s.city_code, YEAR)
        }
        got = {
            i["indicator_code"]: (_num(i["effective_level"]), i["source"])
            for i in inds
            if i["city_code"] == s.city_code
        }
        assert got == levels
    # the JSON holds the same rows as the CSV files
    results = json.loads(files[opendata.RESULTS_JSON])
    assert [c["city_code"] for c in results["cities"]] == [r["city_code"] for r in rows]
    assert sum(len(c["indicators"]) for c in results["cities"]) == len(inds)


# ------------------------------------------------------------------ no personal data, neutralised names


def test_no_personal_data_answers_evidence_or_notes_leave_in_the_package(mini_scored, demo_store):
    _publish(mini_scored)
    files = opendata.package_files(mini_scored, SYSTEM, 2023)
    blob = b"".join(files.values()).decode("utf-8")
    # the evidence texts of the answers, the OPDs' names and codes of who answered, usernames
    for text in ("Perwali 12/2023", "Laporan OSS", "Dinas Kominfo Uji", "DPMPTSP Uji", "system"):
        assert text not in blob
    columns = {name for tb in opendata.TABLES for name in (c.name for c in tb.columns)}
    assert not columns & {"evidence", "note", "notes", "username", "opd_code", "opd", "level", "nik", "email"}
    assert not any(re.search(r"evidence|note|user|opd|nik|mail|phone", c) for c in columns)

    _publish(demo_store)
    files = opendata.package_files(demo_store, SYSTEM, YEAR)
    users = set(demo_store.users_frame()["username"])
    assert len(users) > 5
    cells = [
        c
        for tb in opendata.TABLES
        for row in csv.reader(io.StringIO(files[f"{tb.name}.csv"].decode()))
        for c in row
    ]
    assert len(cells) > 1000
    # no NIK/KK-like number in any cell (the one rule of metrics.personal, per cell and typed: its
    # free-text reading would take a full-precision decimal such as 2.889392705724162 for one)
    assert [c for c in cells if personal.looks_personal(_typed(c))] == []
    for name, content in files.items():
        text = content.decode("utf-8")
        assert not re.search(r"(?<![\d.])\d{16}(?![\d.])", text), name
        words = set(re.findall(r"[\w.-]+", text))
        assert not (users - {"tamu"}) & words, name  # "tamu" (guest) is also an Indonesian word


def test_a_formula_like_city_name_is_neutralised_in_the_csv_and_the_json(mini_scored, tmp_path):
    cities = (
        "city_code,name,province,category,population\n"
        f'0101,"{HOSTILE.replace(chr(34), chr(34) * 2)}",@Jawa Barat,kecil,1000\n'
        "0202,Kota Coba,Bali,sedang,2000\n"
    ).encode()
    load_registry_bytes(mini_scored, SYSTEM, cities, "cities.csv")
    assert HOSTILE in {c.name for c in mini_scored.cities()}
    _publish(mini_scored)
    files = opendata.package_files(mini_scored, SYSTEM, 2023)
    (city,) = _csv_rows(files["cities.csv"])
    assert city["city_name"] == "'" + HOSTILE and city["province"] == "'@Jawa Barat"
    for row in csv.reader(io.StringIO(files["cities.csv"].decode("utf-8"))):
        assert not any(cell.lstrip(" ").startswith(("=", "+", "-", "@")) for cell in row)
    assert json.loads(files[opendata.RESULTS_JSON])["cities"][0]["city_name"] == "'" + HOSTILE
    # still a valid package: the neutralised text is a string like any other
    assert Package(str(_write(files, tmp_path / "pkg"))).validate().valid


# ------------------------------------------------------------------ only published results


def test_an_unpublished_year_is_refused_and_nothing_is_written(mini_scored, tmp_path):
    out = tmp_path / "out"
    before = mini_scored.audit_count()
    assert not admin.public_read(mini_scored)
    for call in (
        lambda: opendata.package_files(mini_scored, SYSTEM, 2023),
        lambda: opendata.package_zip(mini_scored, SYSTEM, 2023),
        lambda: opendata.publish(mini_scored, SYSTEM, 2023, out),
        lambda: exports.opendata_download(mini_scored, 2023, "id", user=ANONYMOUS),
    ):
        with pytest.raises(CoreError) as exc:
            call()
        assert exc.value.key == "opendata.not_published"
        assert "belum dipublikasikan" in exc.value.message("id") and "not published" in exc.value.message(
            "en"
        )
    assert not out.exists() and mini_scored.audit_count() == before
    # published, but a year without results: refused too
    _publish(mini_scored)
    before = mini_scored.audit_count()
    with pytest.raises(CoreError) as exc:
        opendata.publish(mini_scored, SYSTEM, 2022, out)
    assert exc.value.key == "opendata.no_results" and "2022" in exc.value.message("en")
    assert not out.exists() and mini_scored.audit_count() == before


def test_anyone_may_take_published_results_but_only_the_administrator_writes_a_package(mini_scored, tmp_path):
    _publish(mini_scored)
    assert opendata.package_files(mini_scored, ANONYMOUS, 2023) == opendata.package_files(
        mini_scored, VIEWER, 2023
    )
    for user in (ANONYMOUS, VIEWER, User("eksekutif", "executive")):
        with pytest.raises(PermissionDenied):
            opendata.publish(mini_scored, user, 2023, tmp_path / "out")
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------ writing a folder


def test_publish_writes_the_files_audits_them_and_rewrites_the_same_bytes(mini_scored, tmp_path):
    _publish(mini_scored)
    out = tmp_path / "new" / "pkg"  # created, parents too
    written = opendata.publish(mini_scored, SYSTEM, 2023, out)
    assert [w.path.name for w in written] == list(opendata.FILE_NAMES)
    first = {p.name: p.read_bytes() for p in out.iterdir()}
    assert first == opendata.package_files(mini_scored, SYSTEM, 2023)
    last = mini_scored.audit_rows()[-1]
    assert (last.username, last.action, last.object) == ("system", "opendata.publish", "opendata:2023")
    after = json.loads(last.after)
    assert after["license"] == "CC-BY-4.0" and after["folder"] == str(out.resolve())
    import hashlib

    assert after["files"] == [
        {"name": n, "bytes": len(first[n]), "sha256": hashlib.sha256(first[n]).hexdigest()}
        for n in opendata.FILE_NAMES
    ]
    # again into the same folder, after a download: the same bytes (created comes from the data,
    # which neither publishing nor downloading changes); a file of the user's is left alone
    (out / "catatan-saya.txt").write_text("milik pengguna")
    exports.opendata_download(mini_scored, 2023, "id", user=ANONYMOUS)
    opendata.publish(mini_scored, SYSTEM, 2023, out)
    again = {p.name: p.read_bytes() for p in out.iterdir()}
    assert again == {**first, "catatan-saya.txt": b"milik pengguna"}
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]
    # a change of the data dates (and changes) the package
    ingest_bytes(mini_scored, SYSTEM, ASSESS_CSV.replace(b"E1;1", b"E1;2"), "b.csv")
    changed = opendata.package_files(mini_scored, SYSTEM, 2023)
    assert changed["cities.csv"] != first["cities.csv"]
    assert (
        json.loads(changed[opendata.DATAPACKAGE])["created"]
        >= json.loads(first[opendata.DATAPACKAGE])["created"]
    )


def test_a_folder_that_is_not_empty_and_not_ours_is_refused_untouched(mini_scored, tmp_path):
    _publish(mini_scored)
    out = tmp_path / "docs"
    out.mkdir()
    (out / "cities.csv").write_text("mine")
    before = mini_scored.audit_count()
    with pytest.raises(CoreError) as exc:
        opendata.publish(mini_scored, SYSTEM, 2023, out)
    assert exc.value.key == "opendata.folder_not_empty" and str(out) in exc.value.message("en")
    assert [p.name for p in out.iterdir()] == ["cities.csv"] and (out / "cities.csv").read_text() == "mine"
    # a datapackage.json that is not ours does not make the folder ours
    (out / "datapackage.json").write_text('{"name": "other"}')
    with pytest.raises(CoreError):
        opendata.publish(mini_scored, SYSTEM, 2023, out)
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    with pytest.raises(CoreError) as exc:
        opendata.publish(mini_scored, SYSTEM, 2023, a_file)
    assert exc.value.key == "opendata.not_a_folder" and a_file.read_text() == "x"
    assert mini_scored.audit_count() == before


def test_a_link_planted_at_a_file_name_is_replaced_not_followed(mini_scored, tmp_path):
    _publish(mini_scored)
    out = tmp_path / "pkg"
    opendata.publish(mini_scored, SYSTEM, 2023, out)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep")
    (out / "cities.csv").unlink()
    (out / "cities.csv").symlink_to(victim)
    opendata.publish(mini_scored, SYSTEM, 2023, out)
    assert victim.read_text() == "keep" and not (out / "cities.csv").is_symlink()


# ------------------------------------------------------------------ the page's ZIP


def test_the_zip_holds_the_package_files_and_its_download_is_audited_as_an_export(mini_scored):
    _publish(mini_scored)
    files = opendata.package_files(mini_scored, ANONYMOUS, 2023)
    before = mini_scored.audit_count()
    data = exports.opendata_download(mini_scored, 2023, "en", user=ANONYMOUS)
    assert data == opendata.package_zip(mini_scored, ANONYMOUS, 2023)  # deterministic
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert z.namelist() == [f"indeks-kota-cerdas-2023/{n}" for n in opendata.FILE_NAMES]
        assert {n.split("/")[1]: z.read(n) for n in z.namelist()} == files
    assert mini_scored.audit_count() == before + 1
    last = mini_scored.audit_rows()[-1]
    assert (last.username, last.action, last.object) == ("anonymous", "export", "opendata:2023")
    assert json.loads(last.after) == {"format": "zip", "bytes": len(data)}
