#!/usr/bin/env bash
# A private Redis for the tests: `start DIR PORT` or `stop DIR`. Nothing is saved to disk.
set -euo pipefail
cmd=$1 dir=$2
case "$cmd" in
  start)
    port=$3
    mkdir -p "$dir"
    redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --daemonize yes \
      --pidfile "$dir/redis.pid" --logfile "$dir/log" --save "" --appendonly no
    for _ in $(seq 100); do
      redis-cli -p "$port" ping >/dev/null 2>&1 && exit 0
      sleep 0.05
    done
    echo "redis-server did not start on port $port (see $dir/log)" >&2
    exit 1
    ;;
  stop)
    if [ -f "$dir/redis.pid" ]; then
      pid=$(cat "$dir/redis.pid")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
      rm -f "$dir/redis.pid"
    fi
    ;;
  *) echo "usage: $0 start DIR PORT | stop DIR" >&2; exit 2 ;;
esac
