"""Registry CSVs: exact headers, text codes with leading zeros, clear errors."""

import pytest

from metrics.auth import SYSTEM
from metrics.errors import Rejected
from metrics.governance import load_registry_bytes
from metrics.registry import City, CityPopulation, Opd, parse_registry_csv

pytestmark = pytest.mark.both_backends


def test_cities_and_opds_told_apart_by_header_and_codes_stay_text():
    cities = parse_registry_csv(
        b"city_code,name,province,category,population\n0101,Kota A,Aceh,kecil,12\n", "c.csv"
    )
    assert cities == [City("0101", "Kota A", "Aceh", "kecil", 12)]
    opds = parse_registry_csv(b"city_code,opd_code,opd_type,name\n0101,007,diskominfo,Kominfo\n", "o.csv")
    assert opds == [Opd("0101", "007", "DISKOMINFO", "Kominfo")]


@pytest.mark.parametrize(
    "body,row,column",
    [
        (b"city_code,name,province,category,population\n0101,A,B,raksasa,1\n", 2, "category"),
        (b"city_code,name,province,category,population\n0101,A,B,kecil,banyak\n", 2, "population"),
        (
            b"city_code,name,province,category,population\n0101,A,B,kecil,1\n0101,C,D,kecil,2\n",
            3,
            "city_code",
        ),
        (b"city_code,opd_code,opd_type,name\n0101,,X,Y\n", 2, "opd_code"),
        (b"kota,nama\n1,2\n", 1, "*"),
        (b"city_code,year,population\n0101,20x4,1000\n", 2, "year"),
        (b"city_code,year,population\n0101,2024,-5\n", 2, "population"),
        (b"city_code,year,population\n0101,2024,1000\n0101,2024,1100\n", 3, "year"),
    ],
)
def test_bad_rows_are_named(body, row, column):
    with pytest.raises(Rejected) as exc:
        parse_registry_csv(body, "r.csv")
    p = exc.value.problems[0]
    assert (p.row, p.column) == (row, column)
    assert "r.csv" in p.message("id")


def test_opds_for_unknown_city_refused_and_nothing_written(mini):
    from metrics.errors import ValidationError

    before = mini.content_fingerprint()
    with pytest.raises(ValidationError):
        load_registry_bytes(mini, SYSTEM, b"city_code,opd_code,opd_type,name\n7777,01,DLH,X\n", "o.csv")
    assert mini.content_fingerprint() == before


def test_reload_updates_in_place(mini):
    kind, added, updated = load_registry_bytes(
        mini,
        SYSTEM,
        b"city_code,name,province,category,population\n0101,Kota Uji Baru,Jawa Barat,sedang,1500\n",
        "c.csv",
    )
    assert (kind, added, updated) == ("cities", 0, 1)
    assert next(c for c in mini.cities() if c.city_code == "0101").name == "Kota Uji Baru"


def test_population_by_year_parsed_with_indonesian_thousands():
    rows = parse_registry_csv(b"city_code,year,population\n0101,2023,1.180.000\n0101,2024,1191800\n", "p.csv")
    assert rows == [CityPopulation("0101", 2023, 1_180_000), CityPopulation("0101", 2024, 1_191_800)]


def test_population_load_stored_audited_and_replaced_per_year(mini):
    body = b"city_code,year,population\n0101,2023,150000\n0101,2024,152000\n"
    assert load_registry_bytes(mini, SYSTEM, body, "p.csv") == ("population", 2, 0)
    assert load_registry_bytes(mini, SYSTEM, b"city_code,year,population\n0101,2024,153000\n", "p.csv") == (
        "population",
        0,
        1,
    )
    assert mini.population_rows("0101") == [
        CityPopulation("0101", 2023, 150_000),
        CityPopulation("0101", 2024, 153_000),
    ]
    loads = mini.audit_frame(action="registry.load")
    assert loads["object"].tolist()[:2] == ["registry:population", "registry:population"]


def test_population_for_unknown_city_refused_and_nothing_written(mini):
    from metrics.errors import ValidationError

    before = mini.content_fingerprint()
    with pytest.raises(ValidationError):
        load_registry_bytes(mini, SYSTEM, b"city_code,year,population\n7777,2024,1000\n", "p.csv")
    assert mini.content_fingerprint() == before
