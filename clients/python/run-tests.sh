#!/usr/bin/env bash
# Runs the Python client's unittest tests. Maven calls it in clients/java's verify phase with that module's test
# classpath as the only argument, from which the tests start a real feature server (ServedForClients).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if ! command -v python3 >/dev/null 2>&1; then
  echo "python3 is not installed: SKIPPING the Python client's tests (clients/python). Install python3 to run them."
  exit 0
fi
if [ $# -ne 1 ]; then
  echo "usage: $0 CLASSPATH   (Maven passes clients/java's test classpath: mvn -o verify -pl clients/java -am)" >&2
  exit 2
fi
export CLICKSTREAM_TEST_CLASSPATH="$1"
cd "$here"
exec python3 -m unittest discover -s tests -t . -v
