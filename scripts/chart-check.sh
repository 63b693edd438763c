#!/usr/bin/env bash
# Renders the Helm chart with Helm's own engine and validates every manifest
# against the Kubernetes 1.31 schemas, offline. Creates (or reuses) a venv at
# .venv-ops with the pinned tools; see scripts/chart-check.py.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${TALK_OPS_VENV:-.venv-ops}"
REQUIREMENTS="helm-python-sdk==0.2.2 kubernetes-validate==1.37.0"
STAMP="$VENV/.talk-ops-requirements"

if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$STAMP" 2>/dev/null)" != "$REQUIREMENTS" ]; then
    echo "chart-check: preparing $VENV ($REQUIREMENTS)"
    if ! python3 -m venv "$VENV" >/dev/null 2>&1; then
        # Debian ships venv separately.
        rm -rf "$VENV"
        as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
        as_root apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
        python3 -m venv "$VENV"
    fi
    # shellcheck disable=SC2086
    "$VENV/bin/pip" install --quiet --disable-pip-version-check $REQUIREMENTS
    echo "$REQUIREMENTS" > "$STAMP"
fi

exec "$VENV/bin/python" scripts/chart-check.py "$@"
