"""The inputs of the programmes and survey methods, as the drill-down and `score --json` show them (issue 17): being built."""
