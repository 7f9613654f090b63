#!/usr/bin/env bash
# Creates a virtual environment with the pinned FastAPI stack of requirements.txt, for
# tests/fastapi.rs. Idempotent: a venv that already has every pinned version is left alone.
#
#   tests/fastapi/setup.sh [VENV]      # VENV defaults to $FASTAPI_VENV, else <repo>/.venv
#
# Prints the venv's python on the last line; use it as FASTAPI_PYTHON.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="${1:-${FASTAPI_VENV:-$root/.venv}}"
requirements="$here/requirements.txt"
python="${PYTHON:-python3}"

command -v "$python" >/dev/null || { echo "setup.sh: $python not found" >&2; exit 1; }

if [[ ! -x "$venv/bin/python" ]]; then
  "$python" -m venv "$venv"
fi

# Every pin already installed at exactly that version? (pip itself is not consulted: no network.)
satisfied() {
  "$venv/bin/python" - "$requirements" <<'PY'
import sys
from importlib import metadata

ok = True
for line in open(sys.argv[1]):
    line = line.split("#", 1)[0].strip()
    if not line:
        continue
    name, _, version = line.partition("==")
    try:
        ok &= metadata.version(name) == version
    except metadata.PackageNotFoundError:
        ok = False
sys.exit(0 if ok else 1)
PY
}

if satisfied; then
  echo "setup.sh: $venv already has the pinned requirements" >&2
else
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
  satisfied || { echo "setup.sh: pins not satisfied after install" >&2; exit 1; }
fi
echo "$venv/bin/python"
