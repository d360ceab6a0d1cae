#!/usr/bin/env bash
# guard.sh <parent-pid> <command...>
# Runs a server and stops it when the process that started it is gone, so a test run or dev
# stack that is killed (even with SIGKILL) leaves no orphan server behind. GUARD_REMOVE names a
# data directory to delete when the parent died without stopping the server itself.
# It exits with the command's own status, so a process that crashed is seen to have failed.
parent=$1
shift
"$@" &
child=$!
stop() {
  kill -TERM "$child" 2>/dev/null
  wait "$child"
  status=$?
  if ! kill -0 "$parent" 2>/dev/null && [ -n "${GUARD_REMOVE:-}" ]; then rm -rf "$GUARD_REMOVE"; fi
  exit "$status"
}
trap stop TERM INT HUP
while kill -0 "$parent" 2>/dev/null && kill -0 "$child" 2>/dev/null; do
  sleep 0.5 &
  wait $!
done
stop
