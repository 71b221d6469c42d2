#!/usr/bin/env bash
# Runs ./clickstream bench serving (open loop, then wrk) after installing wrk when it is missing, so that both load
# generators are measured. Arguments go to the bench: scripts/bench-serving.sh --events=1000000 --seconds=10
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"

if ! command -v wrk >/dev/null 2>&1; then
  if ! command -v apt-get >/dev/null 2>&1 || [ "$(id -u)" -ne 0 ]; then
    echo "error: wrk is missing and cannot be installed here (Debian, as root: apt-get install wrk);" \
      "./clickstream bench serving runs without it, with the open loop only" >&2
    exit 1
  fi
  echo "Installing wrk ..." >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi
"$here/scripts/start-services.sh"
exec "$here/clickstream" bench serving "$@"
