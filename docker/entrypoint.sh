#!/bin/sh
# The image's entrypoint: `serve` (the default), `migrate`, `healthcheck`, or any other
# `bugfixer` command (`create-admin ...`, `stripe sync-plans`, ...). Settings come from
# the environment; serve reads BUGFIXER_HOST, BUGFIXER_PORT and BUGFIXER_WORKERS.
set -eu

command=${1:-serve}
[ "$#" -gt 0 ] && shift

case "$command" in
  serve)
    exec bugfixer serve "$@"
    ;;
  migrate)
    exec bugfixer db upgrade "$@"
    ;;
  healthcheck)
    # Liveness only (no database call): a database outage must not restart the app.
    exec python -c '
import os, sys, urllib.request
url = "http://127.0.0.1:%s/healthz" % os.environ.get("BUGFIXER_PORT", "8000")
try:
    urllib.request.urlopen(url, timeout=3)
except Exception as exc:
    sys.exit("unhealthy: %s" % exc)
'
    ;;
  *)
    exec bugfixer "$command" "$@"
    ;;
esac
