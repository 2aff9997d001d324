"""(issue 18): being built."""
