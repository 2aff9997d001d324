"""The masterplan and quick-win programme register (issue 17): being built."""
