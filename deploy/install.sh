#!/usr/bin/env bash
# Installs deadline-watch into /opt/deadline-watch with its own venv (run as root from a checkout).
set -euo pipefail
src="$(cd "$(dirname "$0")/.." && pwd)"
id deadline-watch >/dev/null 2>&1 || useradd --system --home /var/lib/deadline-watch --shell /usr/sbin/nologin deadline-watch
install -d -o deadline-watch -g deadline-watch /var/lib/deadline-watch
install -d /etc/deadline-watch
rsync -a --delete --exclude .venv --exclude .git "$src/" /opt/deadline-watch/
python3 -m venv /opt/deadline-watch/.venv
/opt/deadline-watch/.venv/bin/pip install --quiet "/opt/deadline-watch[postgres]"  # carries the migrations in share/
[ -f /etc/deadline-watch/deadline-watch.toml ] || cp /opt/deadline-watch/config/deadline-watch.example.toml /etc/deadline-watch/deadline-watch.toml
[ -f /etc/deadline-watch/env ] || install -m 600 -o deadline-watch /opt/deadline-watch/deploy/env.example /etc/deadline-watch/env
install -m 644 /opt/deadline-watch/deploy/*.service /opt/deadline-watch/deploy/*.target /etc/systemd/system/
systemctl daemon-reload
echo "edit /etc/deadline-watch/{deadline-watch.toml,env}, then either one daemon and one board:"
echo "  systemctl enable --now deadline-watch deadline-watch-board"
echo "or N replicas on PostgreSQL (deploy/postgresql.md):"
echo "  systemctl enable deadline-watch-migrate deadline-watch@9101 deadline-watch@9102 deadline-watch-board@8001 deadline-watch-board@8002"
echo "  systemctl enable --now deadline-watch.target"
