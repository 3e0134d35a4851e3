#!/usr/bin/env bash
# Install everything the tests need on a fresh Debian machine, then run them.
# This is the README's test command; .ci/run calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

# System packages: the tests start a real mosquitto, a real VictoriaMetrics, a real
# PostgreSQL (initdb in a temporary folder) and a real
# headless Chromium (never skipped for lack of them); the CJK fonts let its screenshots
# show the desk's Chinese.
if { ! command -v mosquitto >/dev/null 2>&1 && [ ! -x /usr/sbin/mosquitto ]; } \
  || { ! command -v victoria-metrics >/dev/null 2>&1 && [ ! -x /usr/bin/victoria-metrics ]; } \
  || ! compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null \
  || [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ] \
  || [ ! -d /usr/share/fonts/opentype/noto ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq mosquitto victoria-metrics \
    postgresql chromium chromium-driver fonts-noto-cjk
fi
# Debian starts the packaged broker as a service on port 1883 on some machines;
# the tests use their own brokers on free ports, so it is left alone. Likewise the
# packaged PostgreSQL cluster on 5432: the tests run their own on a free port.

VENV="${LIFESIGN_VENV:-.venv}"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip >/dev/null
"$VENV/bin/python" -m pip install --quiet -e ".[test]"

echo "== ruff"
"$VENV/bin/ruff" check .
echo "== mypy"
"$VENV/bin/mypy"
echo "== every imported package declared in pyproject.toml"
"$VENV/bin/python" scripts/check_imports_declared.py
echo "== import contracts"
"$VENV/bin/lint-imports" --no-cache

echo "== tests"
set +e
"$VENV/bin/python" -m pytest -q -p no:cacheprovider "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "pytest collected no tests: that is a failure here" >&2
  exit 1
fi
exit "$status"
