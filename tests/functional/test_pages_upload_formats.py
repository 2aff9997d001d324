"""File types on the Unggah page (issue 15, point 5): the uploader takes any file and the core answers.

Before, `st.file_uploader(type=["xlsx", "csv"])` refused an .ods or an .xls in the browser with
Streamlit's own English text, and the core was never asked. Now an .ods (LibreOffice's
default) is read under the .xlsx's rules and accepted, and an .xls is answered on the page in
Indonesian with what to do (save as .xlsx).
"""

from __future__ import annotations

from metrics import templates as tpl
from tests.apptest_support import no_errors, t
from tests.functional.test_pages_upload import filled_template, run_page, with_store
from tests.odsfile import workbook_to_ods
from ui.charts import md_escape

ODS = "application/vnd.oasis.opendocument.spreadsheet"


def test_the_template_saved_as_ods_is_accepted_on_the_page(app_db):
    data = workbook_to_ods(filled_template(app_db, {tpl.FIRST_DATA_ROW: 0}))
    before = with_store(app_db, lambda s: s.counts()["submissions"])
    at = run_page(app_db, "upload")
    at.file_uploader(key="up_file").set_value(("isian-kominfo.ods", data, ODS)).run()
    no_errors(at)
    assert [s.value for s in at.success] == [t("upload.accepted", file=md_escape("isian-kominfo.ods"), n=1)]
    assert with_store(app_db, lambda s: s.counts()["submissions"]) == before + 1


def test_an_xls_is_answered_in_indonesian_with_what_to_do(app_db):
    fingerprint = with_store(app_db, lambda s: s.content_fingerprint())
    at = run_page(app_db, "upload")
    xls = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(2048)
    at.file_uploader(key="up_file").set_value(("isian-lama.xls", xls, "application/vnd.ms-excel")).run()
    assert not at.exception
    assert [e.value for e in at.error] == [t("upload.rejected", file=md_escape("isian-lama.xls"), n=1)]
    (message,) = list(at.dataframe[-1].value["message"])
    assert "Simpan Sebagai" in message and ".xlsx" in message and ".xls" in message
    assert with_store(app_db, lambda s: s.content_fingerprint()) == fingerprint
