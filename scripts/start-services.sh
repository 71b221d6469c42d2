#!/usr/bin/env bash
# Starts the local databases the tests use when they are down, starts installing the headless chromium the status
# page's browser test uses when it is missing, and fails loudly when one cannot be had.
#   PostgreSQL  127.0.0.1:5432, trust auth, database test
#   MariaDB     127.0.0.1:3306, root without a password, database test
set -euo pipefail

wait_for() { # name, check command...
  local name=$1; shift
  for _ in $(seq 1 30); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 1
  done
  echo "error: $name did not come up within 30 s" >&2
  return 1
}

if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    echo "error: PostgreSQL is not installed (Debian: apt-get install postgresql); the store tests need it" >&2
    exit 1
  fi
  echo "Starting PostgreSQL ..." >&2
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start
  wait_for PostgreSQL pg_isready -h 127.0.0.1 -p 5432 -q
fi

if ! mysqladmin -h 127.0.0.1 -P 3306 -uroot ping >/dev/null 2>&1; then
  if [ ! -x /usr/sbin/mariadbd ]; then
    echo "error: MariaDB is not installed (Debian: apt-get install mariadb-server)" >&2
    exit 1
  fi
  echo "Starting MariaDB ..." >&2
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
  wait_for MariaDB mysqladmin -h 127.0.0.1 -P 3306 -uroot ping
fi

# StatusPageBrowserTest loads the server's /status page in Debian's headless chromium. On a fresh machine the install
# takes a minute, so it runs in the background, beside the build; the test waits for it, and shows its log if it failed.
chromium_install="${TMPDIR:-/tmp}/clickstream-chromium-install"
if ! command -v chromium >/dev/null 2>&1; then
  if ! command -v apt-get >/dev/null 2>&1 || [ "$(id -u)" -ne 0 ]; then
    echo "error: chromium is missing; the status page's browser test needs it (Debian: apt-get install chromium)" >&2
    exit 1
  fi
  if [ -f "$chromium_install.pid" ] && kill -0 "$(cat "$chromium_install.pid")" 2>/dev/null; then
    echo "chromium is being installed (log: $chromium_install.log)" >&2
  else
    echo "Installing chromium in the background, for the status page's browser test (log: $chromium_install.log) ..." >&2
    rm -f "$chromium_install.status"
    setsid bash -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; echo $? > "$1.status"' \
      _ "$chromium_install" >"$chromium_install.log" 2>&1 </dev/null &
    echo $! > "$chromium_install.pid"
  fi
fi
