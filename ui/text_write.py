"""Labels of the write pages (upload, entry, history, verify, admin, audit, report)."""

T_WRITE: dict[str, dict[str, str]] = {
}
