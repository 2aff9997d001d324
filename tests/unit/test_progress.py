"""Long core work reports its progress (issue 15, point 10): framework load with its rebuild,
backup, restore and report card call `progress(step, fraction)` at their real steps, and the
administration page shows it in an st.status with a bar."""

from __future__ import annotations

from pathlib import Path

import pytest

from metrics import admin, i18n, reportcard
from metrics.auth import SYSTEM
from metrics.backup import make_backup, restore_backup
from metrics.errors import CoreError
from metrics.governance import load_framework_bytes
from tests.apptest_support import t
from tests.functional.test_pages_admin import run_page

DEFAULT_YAML = Path(__file__).resolve().parents[2] / "data" / "frameworks" / "default.yaml"


class Steps:
    def __init__(self) -> None:
        self.seen: list[tuple[str, float]] = []

    def __call__(self, key: str, fraction: float) -> None:
        self.seen.append((key, fraction))

    def check(self, *expected_keys: str) -> None:
        """Fractions grow, end at exactly 1.0 (done), every step is a catalogue message."""
        fractions = [f for _, f in self.seen]
        assert fractions == sorted(fractions) and fractions[-1] == 1.0 and fractions[0] < 1.0, self.seen
        assert fractions.count(1.0) == 1, self.seen
        assert all(i18n.has(key) for key, _ in self.seen), self.seen
        keys = [k for k, _ in self.seen]
        for key in expected_keys:
            assert key in keys, (key, keys)
        assert keys[-1] == "progress.done"


@pytest.mark.both_backends
def test_loading_a_framework_reports_its_check_and_its_save_with_the_rebuild(demo_store):
    steps = Steps()
    fw, seq = load_framework_bytes(
        demo_store, SYSTEM, DEFAULT_YAML.read_bytes(), "default.yaml", progress=steps
    )
    steps.check("progress.framework_parse", "progress.framework_save")
    assert seq > 0 and fw.indicators


@pytest.mark.both_backends
def test_a_refused_framework_never_reports_done(mini):
    steps = Steps()
    with pytest.raises(CoreError):
        load_framework_bytes(mini, SYSTEM, b"id: x\n", "x.yaml", progress=steps)
    assert steps.seen and all(f < 1.0 for _, f in steps.seen)


def test_backup_and_restore_report_each_table(demo_store, tmp_path):
    steps = Steps()
    made = make_backup(demo_store, SYSTEM, tmp_path / "b.zip", progress=steps)
    steps.check("progress.backup_audit", "progress.backup_tables", "progress.backup_sign")
    tables = len(demo_store.backup_tables())
    assert [k for k, _ in steps.seen].count("progress.backup_tables") == tables

    steps = Steps()
    rep = restore_backup(
        tmp_path / "b.zip", tmp_path / "restored.duckdb", key=demo_store.audit_key, progress=steps
    )
    steps.check(
        "progress.restore_check",
        "progress.restore_tables",
        "progress.restore_scores",
        "progress.restore_audit",
    )
    assert [k for k, _ in steps.seen].count("progress.restore_tables") == tables
    assert rep.counts["submissions"] > 0 and made["files"] > tables

    steps = Steps()
    got = admin.backup(demo_store, SYSTEM, progress=steps)
    steps.check("progress.backup_tables")
    steps = Steps()
    admin.restore_to_new_file(demo_store, SYSTEM, got.data, got.name, progress=steps)
    steps.check("progress.restore_tables")


@pytest.mark.both_backends
def test_the_report_card_reports_its_steps(demo_store):
    steps = Steps()
    card = reportcard.report_card(demo_store, SYSTEM, "3299", 2024, "id", progress=steps)
    steps.check("progress.rc_read", "progress.rc_rank", "progress.rc_draw", "progress.rc_audit")
    assert card.pdf.startswith(b"%PDF")


def test_the_admin_page_shows_the_backup_and_restore_in_a_status_with_a_bar(app_db):
    at = run_page(app_db, "admin", "admin")
    assert not at.status
    at.button(key="admin_backup").click().run()
    assert not at.exception and not at.error
    box = next(s for s in at.status if s.label.startswith(t("progress.backup")))
    assert box.state == "complete"
    assert box.label == f"{t('progress.backup')} · {i18n.text('progress.done', 'id')}"
    assert [p.value for p in at.progress] == [100]

    made = at.session_state["admin_backup_file"]
    at.file_uploader(key="admin_restore_file").set_value((made.name, made.data, "application/zip"))
    at.run()
    at.button(key="admin_restore").click().run()
    assert not at.exception and not at.error
    box = next(s for s in at.status if s.label.startswith(t("progress.restore")))
    assert box.state == "complete" and [p.value for p in at.progress] == [100]


@pytest.mark.both_backends
def test_a_refused_framework_load_shows_the_status_as_failed(app_db):
    at = run_page(app_db, "admin", "admin")
    at.file_uploader(key="admin_fw_file").set_value(("x.yaml", b"id: x\n", "application/yaml"))
    at.run()
    at.button(key="admin_fw_load").click().run()
    assert not at.exception and at.error  # the core's refusal, as before
    box = next(s for s in at.status if s.label.startswith(t("progress.framework")))
    assert box.state == "error"
    assert at.progress and at.progress[0].value < 100
