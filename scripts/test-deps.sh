#!/usr/bin/env bash
# Makes sure what the tests need is running: PostgreSQL on 127.0.0.1:5432
# (user postgres, trust auth, database "test") and NATS with JetStream on
# 127.0.0.1:4222 (the nats-server binary is also used by tests that stop and
# restart their own server). Installs Debian's packages when they are missing.
set -euo pipefail

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_updated=
apt_install() {
  [ -n "$apt_updated" ] || { as_root apt-get update -qq; apt_updated=1; }
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# PostgreSQL
if ! port_open 5432; then
  command -v pg_ctlcluster >/dev/null || apt_install postgresql
  version=$(ls /etc/postgresql | sort -V | tail -n1)
  conf=/etc/postgresql/$version/main
  # Tests connect as postgres over TCP without a password.
  if ! grep -q '^host all all 127.0.0.1/32 trust' "$conf/pg_hba.conf"; then
    as_root sed -i '1i host all all 127.0.0.1/32 trust' "$conf/pg_hba.conf"
  fi
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start
  for _ in $(seq 1 50); do port_open 5432 && break; sleep 0.2; done
fi
if ! psql -h 127.0.0.1 -U postgres -d postgres -tAc "select 1 from pg_database where datname='test'" | grep -q 1; then
  psql -h 127.0.0.1 -U postgres -d postgres -qc 'create database test'
fi

# NATS with JetStream
command -v nats-server >/dev/null || apt_install nats-server
if ! port_open 4222; then
  mkdir -p /var/lib/nats-server 2>/dev/null || true
  as_root start-stop-daemon --start --oknodo --background --exec "$(command -v nats-server)" -- \
    -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log
  for _ in $(seq 1 50); do port_open 4222 && break; sleep 0.2; done
fi
port_open 4222 || { echo "NATS did not start" >&2; exit 1; }

# moto: an S3-compatible server the file-service tests start on a port of their own
if ! command -v moto_server >/dev/null; then
  python3 -m pip --version >/dev/null 2>&1 || apt_install python3-pip
  python3 -m pip install --quiet 'moto[server]' 2>/dev/null \
    || python3 -m pip install --quiet --break-system-packages 'moto[server]'
fi
echo "test dependencies ready: PostgreSQL 127.0.0.1:5432, NATS 127.0.0.1:4222"
