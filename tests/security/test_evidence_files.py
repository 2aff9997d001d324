"""Evidence files are checked by content and served only to those who may read the answers
(issue 18, SECURITY.md's evidence-file section).

Every hostile sample (tests/security/evidence_samples.py, built in code) is refused with its
located message in both languages, leaves the database exactly as it was (content fingerprint)
and leaves the server process and its parse workers working; the good files are accepted. Access
to a file follows access to the OPD's answers. A restore refuses a backup whose evidence blob no
longer hashes to its checksum.
"""

from __future__ import annotations

import os

import pytest

from metrics import evidence, isolation
from metrics.auth import ANONYMOUS, SYSTEM, User
from metrics.backup import make_backup, restore_backup
from metrics.errors import CoreError, PermissionDenied, Rejected
from tests.conftest import opd_user
from tests.security import evidence_samples as S

pytestmark = pytest.mark.both_backends

OP1 = opd_user("0101", "01")


@pytest.mark.parametrize("label", list(S.HOSTILE))
def test_a_hostile_file_is_refused_with_its_message_and_nothing_is_stored(mini, label):
    name, gen, key = S.HOSTILE[label]
    data = gen()
    before = mini.content_fingerprint()
    with pytest.raises(Rejected) as exc:
        evidence.add_file(mini, OP1, "0101", "01", 2023, data, name, ["G1"])
    problem = exc.value.problems[0]
    assert problem.key == key
    assert problem.file == name  # located: the uploader's file, and the page/cell/paragraph in params
    for lang in ("id", "en"):
        text = problem.render(lang)
        assert text.startswith(name) and "{" not in text and len(text) > len(name) + 20
    assert mini.content_fingerprint() == before
    # the server process is alive and its workers still check files
    assert os.getpid() > 0 and evidence.check_file(S.good_png(), "ok.png").mime == "image/png"


def test_the_refusals_say_where_and_what(mini):
    def refusal(label):
        name, gen, _key = S.HOSTILE[label]
        with pytest.raises(Rejected) as exc:
            evidence.check_file(gen(), name)
        return exc.value.problems[0]

    assert refusal("PDF with a NIK").params == {"page": 2}
    assert refusal("XLSX with a NIK").params == {"sheet": "Data", "cell": "B2"}
    assert refusal("DOCX with a NIK").params == {"paragraph": 2}
    assert refusal("PDF /OpenAction JavaScript").params == {"what": "JavaScript"}
    assert "Print" in refusal("PDF /Launch").message("en") and "Cetak" in refusal("PDF /Launch").message("id")
    assert refusal("renamed Windows executable").params == {"what": "Windows (.exe/.dll)"}
    assert refusal("oversized (10 MB + 1)").params == {
        "size": 10 * 1024 * 1024 + 1,
        "limit": 10 * 1024 * 1024,
    }


def test_a_file_at_exactly_the_limit_is_parsed_not_refused_for_size():
    head = b"%PDF-1.7\n"
    with pytest.raises(Rejected) as exc:
        evidence.check_file(head + b" " * (evidence.MAX_FILE_BYTES - len(head)), "pas.pdf")
    assert exc.value.problems[0].key == "evidence.pdf_malformed"


@pytest.mark.parametrize("label", list(S.GOOD))
def test_good_files_are_accepted(label):
    name, gen, mime = S.GOOD[label]
    checked = evidence.check_file(gen(), name)
    assert checked.mime == mime and checked.size == len(checked.data)


def test_a_worker_that_dies_or_hangs_is_a_refusal_not_a_crash(monkeypatch):
    monkeypatch.setattr(evidence, "CHECK_TIMEOUT_S", 0.001)
    long_pdf = S.text_pdf(*(f"Halaman {i}" for i in range(400)))
    with pytest.raises(Rejected) as exc:
        evidence.check_file(long_pdf, "lambat.pdf")
    assert exc.value.problems[0].key == "evidence.timeout"
    monkeypatch.undo()
    assert evidence.check_file(S.good_pdf(), "lagi.pdf").pages == 2
    assert isolation.worker_pids()  # a replacement worker serves the next file


# ------------------------------------------------------------------------------------- access

READERS_OK = {
    "the owner OPD": opd_user("0101", "01"),
    "an assessor of the city": User("asesor", "assessor", "0101"),
    "a national assessor": User("asesor.nas", "assessor"),
    "the admin": User("admin", "admin"),
    "an executive of the city": User("walikota", "executive", "0101"),
}
READERS_REFUSED = {
    "another OPD of the city": opd_user("0101", "02"),
    "an OPD of another city": opd_user("0202", "01"),
    "a viewer": User("pemirsa", "viewer", "0101"),
    "anonymous": ANONYMOUS,
    "an assessor of another city": User("asesor2", "assessor", "0202"),
    "an inactive admin": User("admin2", "admin", active=False),
}


@pytest.fixture
def stored(mini):
    pdf = evidence.add_file(mini, OP1, "0101", "01", 2023, S.good_pdf(), "perwali.pdf", ["G1"])
    link = evidence.add_link(mini, OP1, "0101", "01", 2023, "https://jdih.example.go.id/p", ["G1"])
    return mini, pdf, link


@pytest.mark.parametrize("who", list(READERS_OK))
def test_those_who_read_the_answers_get_the_file(stored, who):
    store, pdf, _link = stored
    user = READERS_OK[who]
    got = evidence.download(store, user, pdf.id)
    assert got.data == S.good_pdf() and got.file_name == "perwali.pdf" and got.mime == "application/pdf"
    assert evidence.preview_png(store, user, pdf.id) is not None
    opd = "01" if user.role == "opd" else None
    assert len(evidence.answer_evidence(store, user, "0101", 2023, "G1", opd)) == 2


@pytest.mark.parametrize("who", list(READERS_REFUSED))
def test_others_get_nothing(stored, who):
    store, pdf, link = stored
    user = READERS_REFUSED[who]
    for call in (
        lambda: evidence.download(store, user, pdf.id),
        lambda: evidence.preview_png(store, user, pdf.id),
        lambda: evidence.preview_png(store, user, link.id),
        lambda: evidence.items(store, user, "0101", "01", 2023),
        lambda: evidence.answer_evidence(store, user, "0101", 2023, "G1", "01"),
        lambda: evidence.answer_evidence(store, user, "0101", 2023, "G1"),
    ):
        with pytest.raises(PermissionDenied):
            call()


def test_an_opd_operator_cannot_list_every_opds_evidence(stored):
    store, _pdf, _link = stored
    with pytest.raises(PermissionDenied):
        evidence.answer_evidence(store, OP1, "0101", 2023, "G1")  # opd=None is the assessor's view


@pytest.mark.parametrize(
    "user",
    [
        opd_user("0101", "02"),
        User("asesor", "assessor", "0101"),
        User("pemirsa", "viewer", "0101"),
        ANONYMOUS,
    ],
)
def test_only_the_opd_itself_adds_links_or_unlinks(stored, user):
    store, pdf, _link = stored
    before = store.content_fingerprint()
    for call in (
        lambda: evidence.add_file(store, user, "0101", "01", 2023, S.good_png(), "a.png"),
        lambda: evidence.add_link(store, user, "0101", "01", 2023, "https://x.example/a"),
        lambda: evidence.link(store, user, "0101", "01", 2023, "G2", pdf.id),
        lambda: evidence.unlink(store, user, "0101", "01", 2023, "G1", pdf.id),
    ):
        with pytest.raises(PermissionDenied):
            call()
    assert store.content_fingerprint() == before


# ------------------------------------------------------------------------------------- backups


def test_a_backup_carries_the_files_and_a_restore_checks_each_checksum(mini, tmp_path):
    item = evidence.add_file(mini, OP1, "0101", "01", 2023, S.good_pdf(), "perwali.pdf", ["G1"])
    out = tmp_path / "ok.zip"
    make_backup(mini, SYSTEM, out)
    restored = tmp_path / "restored.duckdb"
    restore_backup(out, restored, key=mini.audit_key)
    from metrics.store import Store

    back = Store(restored)
    try:
        assert evidence.download(back, SYSTEM, item.id).data == S.good_pdf()
    finally:
        back.close()

    # a blob whose content no longer hashes to its key (a swapped document under a known
    # checksum): the backup is signed, yet the restore refuses it and leaves nothing behind
    with mini.cursor() as cur:
        cur.execute(
            "UPDATE evidence_blobs SET content = ? WHERE sha256 = ?", [S.pdf_without_text(), item.sha256]
        )
    bad = tmp_path / "bad.zip"
    make_backup(mini, SYSTEM, bad)
    target = tmp_path / "target.duckdb"
    with pytest.raises(CoreError) as exc:
        restore_backup(bad, target, key=mini.audit_key)
    assert exc.value.key == "backup.evidence" and exc.value.params["n"] == 1
    assert not target.exists()
