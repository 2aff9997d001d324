"""Administrasi: the Diskominfo custodian's page — periods, users, registry, framework,
publication and backups.

Every button calls one core write (metrics.governance, metrics.users, metrics.admin), which
checks the role, validates, writes in one transaction and audits; this page only collects the
input and shows the answer.
"""

import streamlit as st

from metrics import admin, deadlines, governance, responsibility, users
from metrics.auth import ROLES
from metrics.errors import CoreError
from ui import charts, shell
from ui.shell import tr

store = shell.get_store()
user = shell.current_user()
f = shell.filters()
lang = shell.lang()
if "admin_fw_next" in st.session_state:  # a framework was just loaded: show its indicators
    st.session_state["admin_fw"] = st.session_state.pop("admin_fw_next")
view = shell.cached(admin.admin_view, store, user, f.city, st.session_state.get("admin_fw"), lang, f.year)
audit_log = shell.fresh(admin.audit_state, store, user)  # moves with sign-ins: never cached

st.title(tr("admin.title"))
st.caption(
    tr(
        "admin.counts",
        cities=view.counts.get("cities", 0),
        opds=view.counts.get("opds", 0),
        submissions=view.counts.get("submissions", 0),
        users=view.counts.get("users", 0),
        audit=audit_log.rows,
    )
)

flash = st.session_state.pop("admin_flash", None)
if flash:
    st.success(flash, icon=":material/check_circle:")


def write(fn, *args, **kwargs):
    """Run one core write as this user; show the core's refusal, or return its answer."""
    try:
        return True, fn(store, user, *args, **kwargs)
    except CoreError as exc:
        st.error(shell.core_message(exc))
        return False, None


def done(message: str) -> None:
    st.session_state["admin_flash"] = message
    st.rerun()


tab_periods, tab_users, tab_registry, tab_fw, tab_system = st.tabs(
    [
        tr("admin.tab.periods"),
        tr("admin.tab.users"),
        tr("admin.tab.registry"),
        tr("admin.tab.framework"),
        tr("admin.tab.system"),
    ]
)

# ------------------------------------------------------------------ periods
with tab_periods:
    st.caption(tr("admin.period.help"))
    if f.city is None or not view.years:
        st.info(tr("admin.no_city"))
    else:
        city_name = view.cities.set_index("city_code")["name"].get(f.city, f.city)
        if st.session_state.get("admin_year") not in view.years:
            st.session_state["admin_year"] = f.year if f.year in view.years else view.years[-1]
        year = st.selectbox(tr("admin.period.year"), view.years, key="admin_year")
        status = view.status(year)
        st.markdown(
            tr(
                "admin.period.current",
                city=charts.md_escape(city_name),
                year=year,
                status=tr(f"verify.period.{status}"),
            )
        )
        b1, b2, b3 = st.columns(3)
        locked = status == "locked"
        if b1.button(tr("admin.period.open"), key="admin_open", disabled=locked or status == "open"):
            ok, before = write(governance.set_period, f.city, year, "open")
            if ok:
                done(
                    tr(
                        "admin.period.done",
                        year=year,
                        before=tr(f"verify.period.{before}"),
                        after=tr("verify.period.open"),
                    )
                )
        if b2.button(tr("admin.period.close"), key="admin_close", disabled=locked or status == "closed"):
            ok, before = write(governance.set_period, f.city, year, "closed")
            if ok:
                done(
                    tr(
                        "admin.period.done",
                        year=year,
                        before=tr(f"verify.period.{before}"),
                        after=tr("verify.period.closed"),
                    )
                )
        sure = b3.checkbox(tr("admin.period.confirm_lock"), key="admin_lock_sure", disabled=locked)
        if b3.button(tr("admin.period.lock"), key="admin_lock", type="primary", disabled=locked or not sure):
            ok, before = write(governance.set_period, f.city, year, "locked")
            if ok:
                done(
                    tr(
                        "admin.period.done",
                        year=year,
                        before=tr(f"verify.period.{before}"),
                        after=tr("verify.period.locked"),
                    )
                )
        # the year's deadlines: this city's own row, or (a national admin) every city's
        st.markdown("**" + tr("deadline.title", year=year) + "**")
        st.caption(tr("deadline.help"))
        cur_dl = view.deadlines[view.deadlines["year"] == year]
        cur = cur_dl.iloc[0] if len(cur_dl) else None
        st.caption(
            tr(
                "deadline.current",
                self=charts.fmt_date(cur["self_due"])
                if cur is not None and cur["self_due"] is not None
                else "–",
                verify=charts.fmt_date(cur["verify_due"])
                if cur is not None and cur["verify_due"] is not None
                else "–",
                scope=tr(f"deadline.scope.{cur['scope'] if cur is not None else 'none'}"),
            )
        )
        with st.form("admin_deadline"):
            d1, d2, d3 = st.columns(3)
            self_due = d1.date_input(
                tr("deadline.self"),
                value=cur["self_due"] if cur is not None else None,
                key="admin_dl_self",
                format="DD/MM/YYYY",
            )
            verify_due = d2.date_input(
                tr("deadline.verify"),
                value=cur["verify_due"] if cur is not None else None,
                key="admin_dl_verify",
                format="DD/MM/YYYY",
            )
            scopes = ["city", "all"] if user.city_code is None else ["city"]
            scope = d3.radio(
                tr("deadline.scope"),
                scopes,
                key="admin_dl_scope",
                format_func={v: tr(f"deadline.scope_{v}") for v in scopes}.__getitem__,
            )
            if st.form_submit_button(tr("deadline.save"), type="primary"):
                ok, _ = write(
                    deadlines.set_deadline, f.city if scope == "city" else None, year, self_due, verify_due
                )
                if ok:
                    done(tr("deadline.done", year=year))
        st.markdown("**" + tr("admin.period.table") + "**")
        charts.table(
            view.periods,
            {
                "year": ("year", "filter.year"),
                "status": ("tag", "verify.period"),
                "updated_at": ("datetime", "admin.col.updated_at"),
                "updated_by": ("text", "admin.col.updated_by"),
            },
            key="admin_periods",
        )

# ------------------------------------------------------------------ users
with tab_users:
    st.subheader(tr("admin.users.list"))
    charts.table(
        view.users,
        {
            "username": ("text", "admin.col.username"),
            "display_name": ("text", "admin.col.display_name"),
            "role": ("tag", "role"),
            "city_code": ("text", "admin.col.city_code"),
            "opd_code": ("text", "col.opd_code"),
            "active": ("bool", "admin.col.active"),
            "created_at": ("datetime", "admin.col.created_at"),
        },
        key="admin_users",
        download="pengguna.csv",
    )

    st.subheader(tr("admin.users.add"))
    with st.form("admin_add_user", clear_on_submit=True):
        a1, a2 = st.columns(2)
        new_name = a1.text_input(tr("admin.users.username"), key="admin_new_name")
        new_display = a2.text_input(tr("admin.users.display_name"), key="admin_new_display")
        new_role = a1.selectbox(
            tr("admin.users.role"), ROLES, key="admin_new_role", format_func=charts.words_func("role")
        )
        new_city = a2.selectbox(
            tr("admin.users.city"),
            [None, *view.cities["city_code"]],
            key="admin_new_city",
            format_func=lambda c, none=tr("admin.users.none"): none if c is None else c,
        )
        new_opd = a1.text_input(tr("admin.users.opd"), key="admin_new_opd")
        new_pw = a2.text_input(tr("admin.users.password"), type="password", key="admin_new_pw")
        if st.form_submit_button(tr("admin.users.submit"), type="primary"):
            ok, made = write(
                users.add_user,
                new_name.strip(),
                new_pw,
                new_role,
                new_city,
                new_opd.strip() or None,
                new_display.strip(),
            )
            if ok:
                done(tr("admin.users.added", name=charts.md_escape(made.username)))

    st.subheader(tr("admin.users.manage"))
    if not view.users.empty:
        picked = st.selectbox(tr("admin.users.pick"), list(view.users["username"]), key="admin_pick_user")
        active = bool(view.users.set_index("username")["active"].get(picked, True))
        m1, m2 = st.columns(2)
        if active and m1.button(tr("admin.users.disable"), key="admin_disable"):
            ok, _ = write(users.update_user, picked, active=False)
            if ok:
                done(tr("admin.users.disabled", name=charts.md_escape(picked)))
        if not active and m1.button(tr("admin.users.enable"), key="admin_enable"):
            ok, _ = write(users.update_user, picked, active=True)
            if ok:
                done(tr("admin.users.enabled", name=charts.md_escape(picked)))
        new_password = m2.text_input(tr("admin.users.new_password"), type="password", key="admin_reset_pw")
        if m2.button(tr("admin.users.reset"), key="admin_reset"):
            ok, _ = write(users.set_password, picked, new_password)
            if ok:
                done(tr("admin.users.reset_done", name=charts.md_escape(picked)))
        if m1.button(tr("admin.users.end_sessions"), key="admin_end_user_sessions"):
            ok, n = write(users.end_sessions, picked)
            if ok:
                done(tr("admin.users.sessions_ended", n=n))
    # every session this admin manages, this admin's own included (signed out at the next click)
    if st.button(
        tr("admin.users.end_all_sessions"), key="admin_end_all_sessions", help=tr("admin.users.end_all_help")
    ):
        ok, n = write(users.end_sessions)
        if ok:
            done(tr("admin.users.sessions_ended", n=n))

# ------------------------------------------------------------------ registry
with tab_registry:
    st.subheader(tr("admin.registry.cities"))
    charts.table(
        view.cities,
        {
            "city_code": ("text", "admin.col.city_code"),
            "name": ("text", "admin.col.name"),
            "province": ("text", "col.province"),
            "category": ("text", "admin.col.category"),
            "population": ("int", "admin.col.population"),
        },
        key="admin_cities",
    )
    if f.city is not None:
        st.subheader(tr("admin.registry.opds", city=charts.md_escape(f.city)))
        charts.table(
            view.opds,
            {
                "opd_code": ("text", "col.opd_code"),
                "opd_type": ("text", "col.opd_type"),
                "name": ("text", "admin.col.name"),
                "head_name": ("text", "col.head"),
                "email": ("text", "admin.col.email"),
            },
            key="admin_opds",
        )
        # indicators that no OPD of the city can answer: flagged here, and assigned to one OPD
        if not view.orphans.empty:
            st.subheader(tr("orphans.title"))
            st.warning(tr("orphans.warning", n=len(view.orphans)), icon=":material/person_off:")
            charts.table(
                view.orphans,
                {
                    "code": ("text", "col.code"),
                    "name": ("text", "col.indicator"),
                    "opd_types": ("text", "col.opd_types"),
                },
                key="admin_orphans",
            )
            names = dict(zip(view.orphans["code"], view.orphans["name"]))
            opd_names = dict(zip(view.opds["opd_code"], view.opds["name"]))
            g1, g2 = st.columns(2)
            code = g1.selectbox(
                tr("assign.indicator"),
                list(names),
                key="admin_assign_code",
                format_func=lambda c: f"{c} · {names[c]}",
            )
            opd = g2.selectbox(
                tr("assign.opd"),
                list(opd_names),
                key="admin_assign_opd",
                format_func=lambda o: f"{o} · {opd_names[o]}",
            )
            if st.button(
                tr("assign.submit"), key="admin_assign", help=tr("assign.help"), disabled=not opd_names
            ):
                ok, _ = write(responsibility.assign, f.city, code, opd)
                if ok:
                    done(tr("assign.done", code=code, opd=opd))
        if not view.assignments.empty:
            st.subheader(tr("assign.title"))
            charts.table(
                view.assignments,
                {
                    "indicator_code": ("text", "col.code"),
                    "opd_code": ("text", "col.opd_code"),
                    "opd_name": ("text", "admin.col.name"),
                    "assigned_at": ("datetime", "assign.col.assigned_at"),
                    "assigned_by": ("text", "assign.col.assigned_by"),
                },
                key="admin_assignments",
            )
            gone = st.selectbox(
                tr("assign.withdraw"), list(view.assignments["indicator_code"]), key="admin_unassign_code"
            )
            if st.button(tr("assign.withdraw"), key="admin_unassign"):
                ok, _ = write(responsibility.assign, f.city, gone, None)
                if ok:
                    done(tr("assign.withdrawn", code=gone))
    reg_file = st.file_uploader(
        tr("admin.registry.upload"),
        type=["csv"],
        key="admin_registry_file",
        help=tr("admin.registry.upload_help"),
    )
    if st.button(tr("admin.registry.submit"), key="admin_registry_load", disabled=reg_file is None):
        ok, res = write(governance.load_registry_bytes, reg_file.getvalue(), reg_file.name)
        if ok:
            kind, added, updated = res
            done(
                tr(
                    "admin.registry.done",
                    kind=tr(f"admin.registry.kind.{kind}"),
                    added=added,
                    updated=updated,
                )
            )

# ------------------------------------------------------------------ framework
with tab_fw:
    if view.frameworks.empty:
        st.info(tr("admin.fw.none"))
    else:
        st.subheader(tr("admin.fw.loaded"))
        charts.table(
            view.frameworks,
            {
                "seq": ("int", "admin.col.seq"),
                "id": ("text", "col.framework"),
                "applies_from": ("year", "admin.col.applies_from"),
                "indicators": ("int", "admin.col.indicators"),
                "loaded_at": ("datetime", "admin.col.loaded_at"),
                "loaded_by": ("text", "admin.col.loaded_by"),
            },
            key="admin_frameworks",
        )
        seqs = view.frameworks["seq"].astype(int).tolist()
        labels = dict(zip(seqs, view.frameworks["id"]))
        st.session_state["admin_fw"] = view.framework_seq
        st.selectbox(tr("admin.fw.pick"), seqs, key="admin_fw", format_func=lambda s: f"{s}. {labels[s]}")
        st.caption(tr("admin.fw.indicators", n=len(view.indicators)))
        charts.table(
            view.indicators,
            {
                "code": ("text", "col.code"),
                "name": ("text", "admin.col.name"),
                "pillar": ("text", "col.pillar"),
                "dimension": ("text", "col.dimension"),
                "weight": ("level", "col.weight"),
                "opd_types": ("text", "admin.col.opd_types"),
                "metric": ("text", "admin.col.metric"),
            },
            key="admin_indicators",
        )
    fw_file = st.file_uploader(tr("admin.fw.upload"), type=["yaml", "yml"], key="admin_fw_file")
    if st.button(tr("admin.fw.submit"), key="admin_fw_load", disabled=fw_file is None):
        with shell.progress_status("progress.framework") as step:
            ok, res = write(governance.load_framework_bytes, fw_file.getvalue(), fw_file.name, progress=step)
        if ok:
            fw, seq = res
            st.session_state["admin_fw_next"] = seq
            done(tr("admin.fw.done", id=charts.md_escape(fw.id), year=fw.applies_from, n=len(fw.indicators)))

# ------------------------------------------------------------------ publication and backups
with tab_system:

    def _toggle_public() -> None:
        ok, _ = write(admin.set_public_read, st.session_state["admin_public"])
        if ok:
            st.session_state["admin_flash"] = tr(
                "admin.public_on" if st.session_state["admin_public"] else "admin.public_off"
            )

    st.session_state["admin_public"] = view.public_read  # follow the stored setting, not a stale widget
    st.toggle(tr("admin.public"), key="admin_public", help=tr("admin.public_help"), on_change=_toggle_public)

    # who signs the chosen city's report card (the PDF's signature block)
    st.subheader(tr("admin.signatory", city=charts.md_escape(f.city or "–")))
    with st.form("admin_signatory", border=False):
        sig = view.signatory
        sig_name = st.text_input(
            tr("admin.signatory_name"), value=sig.name if sig else "", max_chars=120, key="admin_sig_name"
        )
        sig_pos = st.text_input(
            tr("admin.signatory_position"),
            value=sig.position if sig else "",
            max_chars=120,
            placeholder=tr("admin.signatory_position_hint"),
            key="admin_sig_pos",
        )
        if st.form_submit_button(tr("admin.signatory_save"), disabled=not f.city):
            ok, _ = write(admin.set_signatory, f.city, sig_name, sig_pos)
            if ok:
                done(tr("admin.signatory_done"))

    st.subheader(tr("admin.help_contact"))
    with st.form("admin_help_contact", border=False):
        contact = st.text_input(
            tr("admin.help_contact_label"),
            value=view.help_contact,
            max_chars=admin.MAX_HELP_CONTACT,
            placeholder=tr("admin.help_contact_hint"),
            key="admin_help_contact",
        )
        if st.form_submit_button(tr("admin.help_contact_save")):
            ok, _ = write(admin.set_help_contact, contact)
            if ok:
                done(tr("admin.help_contact_done"))

    st.subheader(tr("admin.backup"))
    if audit_log.head is not None:
        st.caption(tr("admin.audit_head", head=audit_log.head.short()))
    elif audit_log.head_status != "memory":
        st.warning(tr("admin.audit_head_problem", status=audit_log.head_status))
    if st.button(tr("admin.backup.make"), key="admin_backup"):
        with shell.progress_status("progress.backup") as step:
            ok, made = write(admin.backup, progress=step)
        if ok:
            st.session_state["admin_backup_file"] = made
    made = st.session_state.get("admin_backup_file")
    if made is not None:
        st.caption(tr("admin.backup.ready", name=made.name, files=made.files, sha=made.sha256[:16] + "…"))
        st.download_button(
            tr("admin.backup.download"),
            made.data,
            file_name=made.name,
            mime="application/zip",
            key="admin_backup_download",
        )

    st.subheader(tr("admin.restore"))
    st.caption(tr("admin.restore.help"))
    bk_file = st.file_uploader(tr("admin.restore.upload"), type=["zip"], key="admin_restore_file")
    foreign = st.checkbox(
        tr("admin.restore.foreign"), key="admin_restore_foreign", help=tr("admin.restore.foreign_help")
    )
    if st.button(tr("admin.restore.submit"), key="admin_restore", disabled=bk_file is None):
        with shell.progress_status("progress.restore") as step:
            ok, restored = write(
                admin.restore_to_new_file, bk_file.getvalue(), bk_file.name, foreign=foreign, progress=step
            )
        if ok:
            st.success(restored.message(lang), icon=":material/restore:")
            if restored.foreign:
                st.info(tr("admin.restore.foreign_done"))
            if not restored.chain_ok:
                st.warning(tr("admin.restore.chain_broken"))
