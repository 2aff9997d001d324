#!/usr/bin/env bash
# National mode on this machine, in one command (127.0.0.1 only):
#   a throwaway PostgreSQL cluster with the demo data (`python -m metrics init --demo`),
#   two `python -m ui.serve` processes, nginx in front on http://127.0.0.1:8080.
# Ctrl-C stops all of it and removes its temporary directory. Needs Debian's postgresql and
# nginx (apt-get install postgresql nginx). Options: --port N (the proxy), --processes N.
# deploy/national.py is the code; docs/national-mode.md the whole story.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv && .venv/bin/pip install -q -r requirements.txt
fi
exec .venv/bin/python -m deploy.national local "$@"
