#!/usr/bin/env bash
# The test command (`make test`, `.ci/run`): prepares what the suite needs, then runs pytest.
# Under CI=true a missing PostgreSQL or Chromium is installed/started, never skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

in_ci() { [[ "${CI:-}" == "true" || "${CI:-}" == "1" ]]; }

if in_ci; then
  if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
    echo "starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
    for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  fi
  # Chromium for the browser tests, and a CJK font so screenshots show Chinese text.
  if [[ ! -x /usr/bin/chromium ]] || ! fc-list 2>/dev/null | grep -qi wqy; then
    echo "installing Chromium and fonts from Debian"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null
  fi
fi

# The architecture is part of the build: an upward or circular import fails it.
echo "lint-imports: checking the layer contract"
.venv/bin/lint-imports --no-cache
echo "ruff: checking the code"
.venv/bin/ruff check src tests bench alembic

set +e
.venv/bin/python -m pytest "$@"
status=$?
set -e
if [[ $status -eq 5 ]]; then
  echo "pytest collected no tests: failing" >&2
  exit 1
fi
exit $status
