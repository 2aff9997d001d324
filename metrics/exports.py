"""Downloads the read pages offer, made on request and recorded in the audit log.

The read-models (views.py) only read, so that drawing a page writes nothing: no audit row, no
lock, no change of the data version the dashboard's caches are keyed on. Handing a table to
someone is another matter: who took which table is audited, like every other export
(reports.export for the CLI). This module joins the two: it makes the file from the same
read-model the page draws and writes the audit row in its own transaction.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from metrics import formatting, opendata, reports, targets, views
from metrics.auth import User
from metrics.i18n import t

if TYPE_CHECKING:
    from metrics.storage import Storage


def rankings_download(
    store: Storage,
    city: str | None,
    year: int | None,
    province: str | None,
    category: str | None,
    lang: str,
    part: str,
    *,
    user: User,
) -> bytes:
    """One of the rankings page's downloads (views.RANKING_FILES), audited as an export.

    Anyone who may read the rankings may download what they see (a refusal raises before anything
    is written); the audit row records who took which table.
    """
    data = views.rankings_file(store, city, year, province, category, lang, part, user=user)
    with store.transaction() as cur:
        store.write_audit(
            cur,
            user,
            "export",
            f"rankings:{year}/{city or '*'}",
            None,
            {"format": part, "bytes": len(data), "province": province, "category": category},
        )
    return data


def target_words(target: targets.Target, lang: str) -> str:
    """A target in words ("indeks ≥ 3,50", "kategori Maju", "peringkat 10 besar di provinsi")."""
    if target.kind == "index":
        value = target.value if isinstance(target.value, (int, float)) else float(target.value)
        return t("target.goal.index", lang, value=formatting.number(value, lang))
    if target.kind == "band":
        return t("target.goal.band", lang, band=target.value)
    return t(
        "target.goal.rank", lang, rank=target.value, within=t(f"target.goal.within.{target.within}", lang)
    )


def plan_tables(plan: targets.Plan, lang: str) -> list[reports.TableOut]:
    """The plan as the XLSX gives it: the task list per OPD (each task with its step in the plan,
    so "index after" reads in plan order) and a summary sheet."""

    def h(key: str) -> str:
        return t(f"target.xlsx.{key}", lang)

    step = {m: n for n, m in enumerate(plan.moves, 1)}
    tasks = [
        [
            opd,
            step[m],
            m.code,
            m.name,
            m.dimension_name or m.dimension,
            m.pillar_name or m.pillar,
            m.from_level,
            m.to_level,
            m.target_text,
            m.metric_code,
            m.metric_now,
            m.metric_needed,
            m.metric_unit,
            m.effort,
            m.index_after,
        ]
        for opd, moves in targets.by_opd(plan, lang).items()
        for m in moves
    ]
    columns = (
        "opd",
        "step",
        "code",
        "indicator",
        "dimension",
        "pillar",
        "from",
        "to",
        "target_text",
        "metric",
        "metric_now",
        "metric_needed",
        "metric_unit",
        "effort",
        "index_after",
    )
    unit = t(f"target.unit.{plan.effort_unit}", lang)
    summary: list[list[object]] = [
        [h("city"), plan.city_name],
        [h("city_code"), plan.city_code],
        [h("year"), plan.year],
        [h("target"), target_words(plan.target, lang)],
        [h("needed_index"), plan.needed_index],
        [h("start_index"), plan.start_index],
        [h("reachable"), h("yes") if plan.reachable else h("no")],
        [h("final_index"), plan.final_index],
        [h("band_after"), plan.band_after],
        [h("total_effort"), plan.total_effort],
        [h("unit"), unit],
        [h("tasks"), len(plan.moves)],
        [h("held"), plan.held or None],
        [h("solver"), plan.solver],
    ]
    summary += [[h("note"), note] for note in plan.notes]
    return [
        reports.TableOut(h("sheet_tasks"), [h(c) for c in columns], tasks),
        reports.TableOut(h("sheet_summary"), [h("item"), h("value")], summary),
    ]


def plan_file_name(city: str, year: int, lang: str, ext: str) -> str:
    """jalur_<city>_<year>_<lang>.<ext> (the XLSX and the PDF of a plan)."""
    return f"jalur_{city}_{year}_{lang}.{ext}"


def plan_download(
    store: Storage,
    city: str,
    year: int,
    target: targets.Target,
    lang: str,
    *,
    user: User,
) -> bytes:
    """The path to `target` (metrics.targets.plan, the very plan the page shows) as XLSX: the task
    list per OPD and a summary sheet, through the reports' neutralised writer; audited as an
    export. Whoever may read the plan may take it (the plan refuses the others first)."""
    plan = targets.plan(store, user, city, year, target, lang)
    data = reports.tables_to_xlsx(plan_tables(plan, lang))
    audit_plan_export(store, user, plan, "xlsx", data)
    return data


def audit_plan_export(store: Storage, user: User, plan: targets.Plan, fmt: str, data: bytes) -> None:
    """The audit row of a plan taken away (XLSX here, PDF by metrics.reportcard): one export row."""
    target = plan.target
    with store.transaction() as cur:
        store.write_audit(
            cur,
            user,
            "export",
            f"plan:{plan.year}/{plan.city_code}",
            None,
            {
                "format": fmt,
                "bytes": len(data),
                "target": {"kind": target.kind, "value": target.value, "within": target.within},
                "tasks": len(plan.moves),
            },
        )


def opendata_download(store: Storage, year: int, lang: str, *, user: User) -> bytes:
    """The open-data package of a published year as a ZIP (opendata.package_zip), audited as an
    export. Anyone may take it while results are public, signed in or not; otherwise the package
    refuses before anything is made or written."""
    data = opendata.package_zip(store, user, year, lang)
    with store.transaction() as cur:
        store.write_audit(
            cur, user, "export", f"opendata:{year}", None, {"format": "zip", "bytes": len(data)}
        )
    return data
