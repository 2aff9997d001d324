"""The read pages run through the real router (dashboard.py) with streamlit.testing's AppTest.

Each test signs in by putting a session into st.session_state, runs the app against a private
copy of the demo database (SMARTCITY_DB), switches to a page and asserts on what it shows
against the scoring core: the index, the ranking order, the drill-down formula, completeness
counts, in Indonesian and in English, and the first-run message on an empty database. The
smoke test at the top runs every file in pages/, other helpers' pages included.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from metrics import admin, scoring, users, views
from metrics.auth import SYSTEM
from metrics.demo import DEMO_PASSWORD, YEARS
from metrics.formatting import number, signed
from metrics.governance import set_period, verify
from metrics.store import Store
from tests.apptest_support import no_errors, session, t
from ui.shell import md_escape

ROOT = Path(__file__).resolve().parents[2]
PAGE_FILES = sorted((ROOT / "pages").glob("*.py"))
READ_PAGES = ("overview", "rankings", "compare", "drilldown", "completeness", "matrix")
pytestmark = pytest.mark.both_backends

CITY, YEAR = "3299", YEARS[-1]  # walikota's city; the sidebar starts on the latest year


def run_page(
    path: Path, page: str, username: str = "walikota", lang: str = "id", sess: users.Session | None = None
) -> AppTest:
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=30)
    at.session_state["session"] = sess or session(path, username)
    at.session_state["lang"] = lang
    at.run()
    at.switch_page(f"pages/{page}.py" if not page.endswith(".py") else f"pages/{page}")
    at.run()
    return at


def expected(path: Path, fn):
    store = Store(path)
    try:
        return fn(store)
    finally:
        store.close()


def detail(path: Path, code: str):
    """What the drill-down shows for one indicator, straight from the core."""
    return expected(path, lambda s: views.indicator_detail(s, CITY, YEAR, code, user=SYSTEM))


# --------------------------------------------------------------------------- every page


@pytest.mark.parametrize("page", PAGE_FILES, ids=lambda p: p.stem)
def test_every_page_runs_for_an_admin_without_error(app_db, page):
    # the OPD home is an OPD operator's own page (an admin has no OPD): run as one
    name = "opd.kominfo" if page.name == "home.py" else "admin"
    store = Store(app_db)
    try:
        sess = users.login(store, name, DEMO_PASSWORD)
    finally:
        store.close()
    at = run_page(app_db, page.name, sess=sess)
    no_errors(at)
    assert at.title, "every page has a title"


# --------------------------------------------------------------------------- overview


@pytest.mark.parametrize("lang", ["id", "en"])
def test_overview_shows_the_core_index_and_change(app_db, lang):
    cs, prev = expected(
        app_db, lambda s: (scoring.city_score(s, CITY, YEAR), scoring.city_score(s, CITY, YEAR - 1))
    )
    at = run_page(app_db, "overview", lang=lang)
    no_errors(at)
    assert at.title[0].value == t("overview.title", lang)
    main = at.metric[0]
    assert main.label == t("overview.index", lang, hi=4)
    # numbers as the language writes them: 3,48 in Indonesian, 3.48 in English (metrics.formatting)
    assert (
        main.value == number(cs.index, lang) == f"{cs.index:.2f}".replace(".", "," if lang == "id" else ".")
    )
    assert main.delta == signed(cs.index - prev.index, lang)
    assert at.metric[1].value == number(prev.index, lang)
    assert at.metric[3].value == f"{cs.missing} / {cs.indicators}"
    captions = [c.value for c in at.caption]
    assert t("scale.missing_zero", lang, n=cs.missing, total=cs.indicators, lo=0) in " ".join(captions)
    assert len(at.get("plotly_chart")) == 4  # bullet, dimensions, pillars, priorities
    assert t("overview.priorities", lang) in [s.value for s in at.subheader]


@pytest.mark.parametrize("lang", ["id", "en"])
def test_overview_shows_ranks_and_priorities_with_their_opds_and_next_level(app_db, lang):
    ov = expected(app_db, lambda s: views.overview(s, CITY, YEAR, lang, user=SYSTEM))
    at = run_page(app_db, "overview", lang=lang)
    no_errors(at)
    shown = {m.label: m.value for m in at.metric}
    for r in ov.ranks:
        label = t(f"overview.rank_{r.scope}", lang, group=md_escape(r.group))
        assert shown[label] == t("overview.rank_value", lang, rank=r.rank, of=r.of)
    assert ov.rank("national").of > 1
    markdown = " ".join(m.value for m in at.markdown)
    captions = " ".join(c.value for c in at.caption)
    for p in ov.priorities.to_dict("records"):
        assert md_escape(p["next_rubric"]) in markdown
        assert t("overview.priority_next", lang, level=p["next_level"]) in markdown
        assert all(md_escape(o) in captions for o in p["opds"])
    radar = json.loads(next(c for c in at.get("plotly_chart") if "polar" in c.proto.spec).proto.spec)
    now = radar["data"][-1]
    # each pillar's axis names its value, and the value is written at its point
    assert now["theta"][: len(ov.pillars)] == [
        f"{html.escape(n)}<br><b>{number(v, lang)}</b>"
        for n, v in zip(ov.pillars["name"], ov.pillars["value"])
    ]
    assert now["text"][: len(ov.pillars)] == [number(v, lang) for v in ov.pillars["value"]]
    assert radar["layout"]["separators"] == (",." if lang == "id" else ".,")


def test_a_year_without_data_says_what_to_do(app_db):
    store = Store(app_db)
    try:
        set_period(store, SYSTEM, CITY, YEAR + 1, "open")  # a new year: the sidebar now starts there
        name = next(c.name for c in store.cities() if c.city_code == CITY)
        n_opds = len([o for o in scoring.opd_scores(store, YEAR + 1, CITY) if o.pairs > 0])
    finally:
        store.close()
    at = run_page(app_db, "overview")
    no_errors(at)
    assert [w.value for w in at.warning] == [t("empty.no_data", city=name, year=YEAR + 1)]
    assert not at.metric  # no index of 0.00 for a year nobody has filled in
    at = run_page(app_db, "completeness")
    no_errors(at)
    assert at.metric[0].value == f"0 / {n_opds}"
    assert t("compl.nothing", city=name, year=YEAR + 1) in [w.value for w in at.warning]
    for page in ("drilldown", "matrix"):
        at = run_page(app_db, page)
        no_errors(at)
        assert [w.value for w in at.warning] == [t("empty.no_data", city=name, year=YEAR + 1)]
    at = run_page(app_db, "rankings")  # nobody ranked yet: every OPD listed, none ranked
    no_errors(at)
    assert at.metric[0].value == "–" and at.metric[1].value == f"0 / {n_opds}"
    at = run_page(app_db, "compare")
    at.select_slider(key="cmp_years").set_value((YEAR + 1, YEAR + 1)).run()
    no_errors(at)
    assert [w.value for w in at.warning] == [t("compare.no_data")]


def test_new_data_shows_without_a_restart(app_db):
    at = run_page(app_db, "overview")
    before = at.metric[0].value
    # an assessor's verification through another connection in this process, as another page would
    store = Store(app_db)
    try:
        verify(store, SYSTEM, CITY, YEAR, "GOV-01", 0, "tidak ada dokumen")
        cs = scoring.city_score(store, CITY, YEAR)
    finally:
        store.close()
    at.run()
    assert at.metric[0].value == number(cs.index) != before


# --------------------------------------------------------------------------- rankings


def test_rankings_order_and_movement(app_db):
    def core(s):
        now = scoring.score(s, [YEAR])
        ranks = {c: r for c, _, r in scoring.competition_ranks([(x.city_code, x.index) for x in now])}
        opds = scoring.opd_scores(s, YEAR, CITY)
        return now, ranks, opds

    now, ranks, opds = expected(app_db, core)
    at = run_page(app_db, "rankings")
    no_errors(at)
    assert at.metric[0].value == f"{ranks[CITY]} / {len(now)}"
    opd_table, city_table = at.dataframe[0].value, at.dataframe[1].value
    by_index = sorted((o for o in opds if o.index is not None), key=lambda o: (-o.index, o.opd_code))
    assert list(opd_table["opd_code"])[: len(by_index)] == [o.opd_code for o in by_index]
    assert opd_table["index"].isna().sum() == sum(1 for o in opds if o.index is None)
    assert list(city_table["city_code"]) == sorted(ranks, key=lambda c: (ranks[c], c))
    assert list(city_table["rank"]) == sorted(ranks.values())
    assert len(at.get("download_button")) == 3  # XLSX of both tables, CSV of each


def test_rankings_in_english_filtered_by_province(app_db):
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=30)
    at.session_state["session"] = session(app_db, "admin")
    at.session_state["lang"] = "en"
    # AppTest keeps the router's sidebar widgets in its tree for the first run only, so the
    # sidebar filter is chosen by key before that run
    at.session_state["f_province"] = "Jawa Timur"
    at.run()
    at.switch_page("pages/rankings.py").run()
    no_errors(at)
    assert at.session_state["filters"].province == "Jawa Timur"
    assert at.title[0].value == t("rankings.title", "en")
    cities = at.dataframe[1].value
    assert set(cities["province"]) == {"Jawa Timur"} and list(cities["rank_in_selection"]) == [1]


# --------------------------------------------------------------------------- year over year


def test_compare_defaults_to_peers_and_follows_the_choice(app_db):
    scores = expected(app_db, lambda s: {x.city_code: x for x in scoring.score(s, [YEARS[-1]])})
    at = run_page(app_db, "compare", lang="en")
    no_errors(at)
    chosen = at.multiselect(key="cmp_cities").value
    assert len(chosen) == 3 and chosen[0] == CITY
    assert [m.value for m in at.metric] == [number(scores[c].index, "en") for c in chosen]
    at.multiselect(key="cmp_cities").set_value([CITY, "0199"]).run()
    no_errors(at)
    assert [m.value for m in at.metric] == [number(scores[c].index, "en") for c in (CITY, "0199")]
    assert len(at.get("plotly_chart")) == 2
    at.multiselect(key="cmp_cities").set_value([]).run()
    assert [i.value for i in at.info] == [t("compare.pick_city", "en")]


# --------------------------------------------------------------------------- drill-down


@pytest.mark.parametrize("lang", ["id", "en"])
def test_drilldown_formula_recomputes_the_index(app_db, lang):
    dd = expected(app_db, lambda s: views.drilldown(s, CITY, YEAR, lang, user=SYSTEM))
    cs = expected(app_db, lambda s: scoring.city_score(s, CITY, YEAR))
    at = run_page(app_db, "drilldown", lang=lang)
    no_errors(at)
    assert at.metric[0].value == number(cs.index, lang)
    formula = at.code[0].value
    assert (
        formula
        == f"{t('drill.index_symbol', lang)} = {t('formula.words', lang)}\n= {dd.index_formula.text(lang)}"
    )
    assert formula.endswith(f"= {number(cs.index, lang)}")
    # to a pillar, then to an indicator of it
    at.segmented_control(key="dd_by").set_value("pillar").run()
    at.selectbox(key="dd_group_pillar").set_value("ENV").run()
    no_errors(at)
    assert at.code[1].value.endswith(f"= {number(cs.pillars['ENV'], lang)}")
    details = {c: detail(app_db, c) for c in dd.group("pillar", "ENV").indicators}
    metric_code = next(c for c, d in details.items() if d.source == "metric")
    d = details[metric_code]
    at.selectbox(key="dd_indicator_pillar_ENV").set_value(metric_code).run()
    no_errors(at)
    info = " ".join(i.value for i in at.info)
    assert (
        md_escape(d.metric_code) in info
        and number(d.metric_value, lang) in info
        and f"→ level {d.metric_level}" in info
    )


def test_drilldown_shows_evidence_as_text(app_db):
    store = Store(app_db)
    try:
        dd = views.drilldown(store, CITY, YEAR, user=SYSTEM)
    finally:
        store.close()
    details = {c: detail(app_db, c) for c in dd.indicators["code"]}
    code = next(c for c, d in details.items() if d.source == "self" and d.answers["evidence"].notna().any())
    d = details[code]
    at = run_page(app_db, "drilldown")
    at.selectbox(key="dd_group_dimension").set_value(d.dimension).run()
    at.selectbox(key=f"dd_indicator_dimension_{d.dimension}").set_value(code).run()
    no_errors(at)
    shown = next(df.value for df in at.dataframe if "evidence" in df.value.columns)
    assert list(shown["evidence"]) == list(d.answers["evidence"])
    assert t("drill.self_formula") + " = " + d.self_formula("id") in [c.value for c in at.code]


# --------------------------------------------------------------------------- completeness, matrix


@pytest.mark.parametrize("lang", ["id", "en"])
def test_completeness_counts_come_from_the_core(app_db, lang):
    ops = expected(app_db, lambda s: [o for o in scoring.opd_scores(s, YEAR, CITY) if o.pairs > 0])
    cs = expected(app_db, lambda s: scoring.city_score(s, CITY, YEAR))
    submitted = sum(1 for o in ops if o.submission_id is not None)
    at = run_page(app_db, "completeness", lang=lang)
    no_errors(at)
    assert at.title[0].value == t("compl.title", lang)
    assert at.metric[0].value == f"{submitted} / {len(ops)}"
    assert at.metric[1].value == f"{sum(1 for o in ops if o.answered >= o.pairs)} / {len(ops)}"
    assert at.metric[3].value == f"{cs.missing} / {cs.indicators}"
    assert t("compl.some_missing", lang, n=len(ops) - submitted) in [w.value for w in at.warning]
    status = at.dataframe[0].value
    assert (status["status"] == t("status.none", lang)).sum() == len(ops) - submitted
    assert len(at.get("plotly_chart")) == 1


def test_matrix_shows_the_index_and_both_heat_maps(app_db):
    cs = expected(app_db, lambda s: scoring.city_score(s, CITY, YEAR))
    for lang in ("id", "en"):
        at = run_page(app_db, "matrix", lang=lang)
        no_errors(at)
        assert at.title[0].value == t("matrix.title", lang)
        assert at.metric[0].value == number(cs.index, lang)
        assert len(at.get("plotly_chart")) == 2


# --------------------------------------------------------------------------- empty database


@pytest.mark.parametrize("page", READ_PAGES)
def test_empty_database_shows_the_first_run_message(tmp_path, monkeypatch, page):
    path = tmp_path / "empty.duckdb"
    store = Store(path)
    try:
        users.add_user(store, SYSTEM, "admin", "Sandi-Admin-Uji-1", "admin")  # not a demo database
        sess = users.login(store, "admin", "Sandi-Admin-Uji-1")
    finally:
        store.close()
    monkeypatch.setenv("SMARTCITY_DB", str(path))
    for lang in ("id", "en"):
        at = run_page(path, page, lang=lang, sess=sess)
        no_errors(at)
        assert [i.value for i in at.info] == [t("empty.first_run", lang)]
        assert not at.metric


# --------------------------------------------------------------------------- data shown as text


def test_names_from_spreadsheets_are_shown_literally(tmp_path, monkeypatch):
    from metrics.governance import load_registry_bytes
    from metrics.ingest import ingest_bytes
    from tests.conftest import ASSESS_CSV, make_mini_store
    from ui.charts import esc, md_escape

    name = "Kota **Uji** [klik](http://contoh.test) <b>x</b>"
    path = tmp_path / "mini.duckdb"
    store = make_mini_store(path)
    try:
        load_registry_bytes(
            store,
            SYSTEM,
            (f'city_code,name,province,category,population\n0101,"{name}",Jawa Barat,kecil,1000\n').encode(),
            "cities.csv",
        )
        assert ingest_bytes(store, SYSTEM, ASSESS_CSV, "a.csv").accepted
        users.add_user(store, SYSTEM, "admin", "Sandi-Admin-Uji-1", "admin")  # not a demo database
        sess = users.login(store, "admin", "Sandi-Admin-Uji-1")
    finally:
        store.close()
    monkeypatch.setenv("SMARTCITY_DB", str(path))
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=30)
    at.session_state["session"] = sess
    at.session_state["f_city"] = "0101"
    at.run()
    at.switch_page("pages/overview.py").run()
    no_errors(at)
    caption = at.caption[0].value
    assert md_escape(name) in caption  # every markdown/HTML character escaped
    assert "**Uji**" not in caption and "[klik](" not in caption
    assert esc(name) == "Kota **Uji** [klik](http://contoh.test) &lt;b&gt;x&lt;/b&gt;"  # for plotly labels


@pytest.mark.parametrize("page", READ_PAGES)
def test_read_pages_are_thin(page):
    """A read page reads the filters, calls one core function (cached) and draws: no loops over data."""
    import ast

    tree = ast.parse((ROOT / "pages" / f"{page}.py").read_text(encoding="utf-8"))
    loops = [
        type(n).__name__
        for n in ast.walk(tree)
        if isinstance(n, (ast.For, ast.While, ast.ListComp, ast.DictComp, ast.SetComp, ast.GeneratorExp))
    ]
    assert loops == []
    core_calls = [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Call)
        and isinstance(n.func, ast.Attribute)
        and n.func.attr == "cached"
        and n.args
        and isinstance(n.args[0], ast.Attribute)
        and isinstance(n.args[0].value, ast.Name)
        and n.args[0].value.id == "views"
    ]
    # one read-model per page; the drill-down also fetches the one indicator the reader picked
    # (views.indicator_detail), so that it never carries every indicator's evidence
    names = [n.args[0].attr for n in core_calls]
    assert len([n for n in names if n != "indicator_detail"]) == 1, names
    assert names.count("indicator_detail") == (1 if page == "drilldown" else 0), names


def test_overview_offers_the_open_data_zip_only_while_results_are_public(app_db):
    def zip_buttons(at: AppTest) -> list[str]:
        return [b.proto.label for b in at.get("download_button")]

    at = run_page(app_db, "overview")
    no_errors(at)
    assert t("opendata.download") not in zip_buttons(at)  # results not public: no package
    store = Store(app_db)
    try:
        admin.set_public_read(store, SYSTEM, True)
    finally:
        store.close()
    anonymous = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=30)
    anonymous.run()  # the public lands on Ringkasan
    no_errors(anonymous)
    assert zip_buttons(anonymous) == [t("opendata.download")]
    at = run_page(app_db, "overview")
    assert t("opendata.download") in zip_buttons(at)
