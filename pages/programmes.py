"""Program: the city's masterplan and quick-win programme register, and who keeps it current.

The national evaluation scores Outcome and Quick Win from how many of the city's own programmes
run each year, so the register has to be kept by the people who own it: planners enter it (the
pre-filled template or the browser editor), each OPD records the status of its programmes with
evidence, and an assessor accepts or rejects a reason for stopping one. Every write is one core
call (metrics.programmes: checked, versioned, audited); this page shows what the user may do
(auth.can) and the core refuses the rest.
"""

import pandas as pd
import streamlit as st

from metrics import entry, programmes
from metrics.auth import Action, can
from metrics.errors import CoreError, Rejected
from metrics.reports import CSV_MIME, XLSX_MIME
from ui import charts, outcome, shell
from ui.shell import tr

store = shell.get_store()
user = shell.current_user()
f = shell.filters()
lang = shell.lang()

st.title(tr("programmes.page.title"))
if f.city is None or f.year is None:
    st.info(tr("empty.first_run"), icon=":material/database:")
    st.stop()
city, year = f.city, f.year
board = shell.cached(programmes.board, store, user, city, year, lang)
manage = can(user, Action.MANAGE_PROGRAMMES, city)
# an OPD operator updates its own programmes' status; planners and the admin any of the city's
update = can(user, Action.UPDATE_PROGRAMME, city, user.opd_code)
judge = can(user, Action.VERIFY, city)

st.caption(
    tr("programmes.page.context", year=year, fw=charts.md_escape(board.framework_id or "–"), n=board.versions)
)
flash = st.session_state.pop("pg_flash", None)
if flash:
    st.success(flash, icon=":material/check_circle:")

ROW_COLUMNS = {
    "code": ("text", "programmes.page.col_code"),
    "name": ("text", "programmes.page.col_name"),
    "pillar": ("text", "programmes.page.col_pillar"),
    "kind": ("tag", "programmes.page.kind"),
    "opd_name": ("text", "col.opd"),
    "status": ("tag", "programmes.page.status"),
    "stalled": ("bool", "programmes.page.col_is_stalled"),
    "reason": ("text", "programmes.page.col_reason"),
    "reason_accepted": ("bool", "programmes.page.col_reason_accepted"),
    "evidence": ("longtext", "programmes.page.col_evidence"),
    "budget": ("int", "programmes.page.col_budget"),
}


def frame(rows, columns) -> pd.DataFrame:
    """The core's records (dataclasses) as a table with `columns`, in the core's order."""
    return pd.DataFrame(list(rows), columns=list(columns))


def write(fn, *args, file: str = ""):
    """One core write as this user: (True, answer), or the refusal shown and (False, None); a
    refused file or edit lists every problem with its sheet, row and column."""
    try:
        return True, fn(store, user, city, *args)
    except CoreError as exc:
        st.error(shell.core_message(exc))
    except Rejected as exc:
        outcome.problems(entry.Outcome("rejected", file, problems=exc.problems), "pg")
    return False, None


def done(message: str) -> None:
    st.session_state["pg_flash"] = message
    st.rerun()


# ------------------------------------------------------------------ the board per pillar
st.subheader(tr("programmes.page.board", year=year))
st.caption(tr("programmes.page.board_help"))
charts.table(
    frame(board.cells, programmes.BoardCell.__dataclass_fields__),
    {
        "pillar": ("text", "programmes.page.col_pillar"),
        "pillar_name": ("text", "programmes.page.col_pillar_name"),
        "kind": ("tag", "programmes.page.kind"),
        "planned": ("int", "programmes.page.col_planned"),
        "running": ("int", "programmes.page.col_running"),
        "not_started": ("int", "programmes.page.col_not_started"),
        "stalled": ("int", "programmes.page.col_stalled"),
        "stopped_pending": ("int", "programmes.page.col_stopped_pending"),
        "stopped_accepted": ("int", "programmes.page.col_stopped_accepted"),
        "budget": ("int", "programmes.page.col_budget"),
    },
    key="pg_board",
)
if board.versions == 0:
    st.info(tr("programmes.page.none"), icon=":material/event_note:")

tabs = {"list": tr("programmes.page.tab_list")}
if manage:
    tabs["editor"] = tr("programmes.page.tab_editor")
    tabs["file"] = tr("programmes.page.tab_file")
if update:
    tabs["status"] = tr("programmes.page.tab_status")
if judge:
    tabs["reasons"] = tr("programmes.page.tab_reasons")
tabs["versions"] = tr("programmes.page.tab_versions")
# keyed and tracked: the chosen tab stays open across reruns (an edit in the editor, a save),
# even when an element above it comes or goes; every tab's content still runs
tab = dict(zip(tabs, st.tabs(list(tabs.values()), key="pg_tab", on_change="rerun")))
rows = frame(board.rows, programmes.BoardRow.__dataclass_fields__)

# ------------------------------------------------------------------ the programme list
with tab["list"]:
    st.caption(tr("programmes.page.list_help", year=year))
    charts.table(rows, ROW_COLUMNS, key="pg_list", empty="programmes.page.list_none")
    c1, c2 = st.columns(2)
    for col, fmt, mime in ((c1, "xlsx", XLSX_MIME), (c2, "csv", CSV_MIME)):
        col.download_button(
            tr(f"programmes.page.export_{fmt}"),
            lambda fmt=fmt: programmes.export_programmes(store, user, city, fmt),
            file_name=f"program_{city}.{fmt}",
            mime=mime,
            key=f"pg_export_{fmt}",
            icon=":material/download:",
        )

# ------------------------------------------------------------------ planners: the browser editor
if manage:
    with tab["editor"]:
        st.caption(tr("programmes.page.editor_help"))
        edit_round = st.session_state.get("pg_round", 0)
        cc = st.column_config
        labels = {c: tr(f"programmes.page.field.{c}") for c in programmes.EDITOR_COLUMNS}
        edited = st.data_editor(
            frame(shell.cached(programmes.editor_rows, store, user, city), programmes.EDITOR_COLUMNS),
            hide_index=True,
            num_rows="dynamic",
            column_order=list(programmes.EDITOR_COLUMNS),
            column_config={
                **{c: cc.TextColumn(label, max_chars=300) for c, label in labels.items()},
                "jenis": cc.SelectboxColumn(labels["jenis"], options=list(programmes.PROGRAMME_KINDS)),
                "tahun_mulai": cc.NumberColumn(
                    labels["tahun_mulai"], min_value=1900, max_value=2200, format="%d"
                ),
                "tahun_selesai": cc.NumberColumn(
                    labels["tahun_selesai"], min_value=1900, max_value=2200, format="%d"
                ),
            },
            key=f"pg_editor_{city}_{edit_round}",
        )
        if st.button(tr("programmes.page.save"), type="primary", key="pg_save", icon=":material/save:"):
            ok, res = write(programmes.save_programmes, edited.to_dict("records"))
            if ok:
                st.session_state["pg_round"] = edit_round + 1
                done(tr("programmes.page.saved", id=res.version_id, n=res.programmes))

    # ------------------------------------------------------------------ planners: the template
    with tab["file"]:
        st.caption(tr("programmes.page.file_help"))
        st.download_button(
            tr("programmes.page.download_template"),
            lambda: programmes.programme_template(store, user, city, lang),
            file_name=f"program_{city}.xlsx",
            mime=XLSX_MIME,
            key="pg_template",
            icon=":material/download:",
            type="primary",
        )
        up = st.file_uploader(tr("programmes.page.upload"), type=None, key="pg_file")
        # each chosen file is loaded once: a rerun (any widget) must not store it again
        if up is not None and st.session_state.get("pg_file_done") != up.file_id:
            st.session_state["pg_file_done"] = up.file_id
            ok, res = write(programmes.load_programmes_file, up.getvalue(), up.name, file=up.name)
            if ok:
                done(
                    tr(
                        "programmes.page.loaded",
                        file=charts.md_escape(up.name),
                        id=res.version_id,
                        n=res.programmes,
                    )
                )

# ------------------------------------------------------------------ OPDs: the status of their programmes
if update:
    with tab["status"]:
        mine = (
            frame(
                shell.cached(programmes.opd_programmes, store, user, city, user.opd_code, year, lang),
                programmes.BoardRow.__dataclass_fields__,
            )
            if user.opd_code
            else rows
        )
        st.caption(tr("programmes.page.status_help", year=year))
        charts.table(mine, ROW_COLUMNS, key="pg_mine", empty="programmes.page.status_none")
        if not mine.empty:
            names = dict(zip(mine["code"], mine["name"]))
            status_words = {s: tr(f"programmes.page.status.{s}") for s in programmes.PROGRAMME_STATUSES}
            with st.form("pg_status_form"):
                code = st.selectbox(
                    tr("programmes.page.status_programme"),
                    list(mine["code"]),
                    format_func=lambda c: f"{c} · {names.get(c, '')}",
                    key="pg_status_code",
                )
                status = st.selectbox(
                    tr("programmes.page.status.col"),
                    programmes.PROGRAMME_STATUSES,
                    format_func=status_words.__getitem__,
                    key="pg_status_value",
                )
                reason = st.text_area(
                    tr("programmes.page.status_reason"),
                    help=tr("programmes.page.status_reason_help"),
                    max_chars=2000,
                    key="pg_status_reason",
                )
                evidence = st.text_input(
                    tr("programmes.page.status_evidence"), max_chars=2000, key="pg_status_evidence"
                )
                sent = st.form_submit_button(tr("programmes.page.status_submit"), type="primary")
            if sent:
                ok, _ = write(programmes.update_status, code, year, status, reason or None, evidence or None)
                if ok:
                    done(
                        tr(
                            "programmes.page.status_saved",
                            code=charts.md_escape(code),
                            status=status_words[status],
                            year=year,
                        )
                    )

# ------------------------------------------------------------------ assessors: reasons for stopping
if judge:
    with tab["reasons"]:
        st.caption(tr("programmes.page.reasons_help", year=year))
        stopped = frame(
            [{**r.to_dict(), "reason_state": r.reason_state} for r in board.reasons],
            (*programmes.BoardRow.__dataclass_fields__, "reason_state"),
        )
        charts.table(
            stopped,
            {
                "code": ("text", "programmes.page.col_code"),
                "name": ("text", "programmes.page.col_name"),
                "opd_name": ("text", "col.opd"),
                "reason": ("longtext", "programmes.page.col_reason"),
                "evidence": ("longtext", "programmes.page.col_evidence"),
                "reason_state": ("tag", "programmes.page.col_reason_state"),
            },
            key="pg_reasons",
            empty="programmes.page.reasons_none",
        )
        if not stopped.empty:
            pick = st.selectbox(
                tr("programmes.page.reasons_pick"), list(stopped["code"]), key="pg_reason_code"
            )
            note = st.text_input(tr("programmes.page.reasons_note"), max_chars=2000, key="pg_reason_note")
            c1, c2 = st.columns(2)
            for col, accepted, word in ((c1, True, "accept"), (c2, False, "reject")):
                if col.button(tr(f"programmes.page.reasons_{word}"), key=f"pg_reason_{word}"):
                    ok, _ = write(programmes.decide_stop_reason, pick, year, accepted, note)
                    if ok:
                        done(tr(f"programmes.page.reasons_{word}ed", code=charts.md_escape(pick), year=year))

# ------------------------------------------------------------------ version history
with tab["versions"]:
    charts.table(
        frame(
            shell.cached(programmes.programme_versions, store, user, city),
            ("id", "created_at", "username", "change", "file_name", "note"),
        ),
        {
            "id": ("int", "programmes.page.col_version"),
            "created_at": ("datetime", "programmes.page.col_at"),
            "username": ("text", "history.col_user"),
            "change": ("tag", "programmes.page.change"),
            "file_name": ("text", "col.file"),
            "note": ("text", "col.note"),
        },
        key="pg_versions",
        empty="programmes.page.versions_none",
    )
