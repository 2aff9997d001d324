"""Fuzzing: mutated workbooks and CSVs never crash ingest, every refusal carries a message, and a
refused file leaves the store's content byte-for-byte unchanged (store.content_fingerprint).

The corpus comes from tools/fuzz.py (seeded, so a failure is reproducible by its file name).
An 80-file subset runs every time; the full 1,200 files run under @pytest.mark.slow.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metrics.auth import SYSTEM
from metrics.ingest import ingest_bytes
from tests.conftest import make_mini_store
from tools import fuzz

FULL = 1_200
SUBSET = 80


def _assert_clean(rep: fuzz.FuzzReport) -> None:
    assert rep.crashes == [], rep.crashes[:5]
    assert rep.silent == [], rep.silent[:5]
    assert rep.changed == [], rep.changed[:5]
    assert rep.let_through == [], rep.let_through[:5]  # ambiguous packages, active content, non-tables
    # the corpus is meaningful: it exercises both outcomes and many distinct refusals
    assert rep.accepted > 0 and rep.rejected > rep.accepted
    assert len(rep.keys) >= 12, rep.keys


@pytest.fixture(scope="module")
def seeds(tmp_path_factory):
    store = make_mini_store(tmp_path_factory.mktemp("seeds") / "seeds.duckdb")
    out = fuzz.seed_files(store)
    # every seed is valid: mutations start from files the product accepts
    for name, data in out.items():
        assert ingest_bytes(store, SYSTEM, data, name).accepted, name
    store.close()
    return out


def test_corpus_is_deterministic(seeds):
    a = fuzz.corpus(seeds, 40, seed=7)
    b = fuzz.corpus(seeds, 40, seed=7)
    assert [(s.name, s.data) for s in a] == [(s.name, s.data) for s in b]
    assert len({s.data for s in a}) > 35  # and actually varied


def test_fuzz_subset(mini, seeds):
    rep = fuzz.run(mini, fuzz.corpus(seeds, SUBSET, seed=2024))
    assert rep.crashes == [] and rep.silent == [] and rep.changed == [] and rep.let_through == [], (
        rep.to_dict()
    )
    assert rep.accepted + rep.rejected == SUBSET


@pytest.mark.slow
def test_fuzz_full_corpus(mini, seeds):
    samples = fuzz.corpus(seeds, FULL, seed=2024)
    for family in (
        "byte_flip",
        "truncate",
        "zip_damage",
        "xml_attack",
        "sheet_xml",
        "header_shuffle",
        "cells",
        "encoding",
        "rows",
        "declared_counts",
        "package_ambiguity",
        "active_content",
        "not_a_table",
        "nik_bypass",
    ):
        assert sum(family in s.mutation for s in samples) >= 50, family
    rep = fuzz.run(mini, samples)
    print("fuzz:", rep.to_dict())
    assert rep.files == FULL
    _assert_clean(rep)


HEAD = "city_code,opd_code,year,indicator_code,level,evidence,note\n"
cell = st.one_of(
    st.text(max_size=30),
    st.integers(-10, 10).map(str),
    st.sampled_from(
        ["0101", "01", "2023", "G1", "G2", "E1", "3", "3,5", "TRUE", "=1+1", fuzz.NIK, fuzz.XSS, ""]
    ),
)


@pytest.fixture(scope="module")
def prop_store(tmp_path_factory):
    from metrics.ingest import load_context

    store = make_mini_store(tmp_path_factory.mktemp("prop") / "prop.duckdb")
    yield store, load_context(store)
    store.close()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(st.lists(cell, min_size=0, max_size=9), min_size=0, max_size=6),
    delimiter=st.sampled_from([",", ";"]),
)
def test_random_csv_cells_never_crash(prop_store, rows, delimiter):
    import csv
    import io

    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter).writerows(rows)
    data = (HEAD.replace(",", delimiter) + buf.getvalue()).encode("utf-8", "surrogatepass")
    store, ctx = prop_store
    before = store.content_fingerprint()
    r = ingest_bytes(store, SYSTEM, data, "acak.csv", ctx=ctx)
    if not r.accepted:
        assert r.problems and all(p.message("id") and p.message("en") for p in r.problems)
        assert store.content_fingerprint() == before
