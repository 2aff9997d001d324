"""Labels of the read pages (overview, rankings, compare, drill-down, completeness, matrix)."""

T_READ: dict[str, dict[str, str]] = {
}
