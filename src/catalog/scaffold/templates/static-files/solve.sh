#!/usr/bin/env bash
# Reference solve for __ID__: ctfdeck smoke runs it against a fresh instance and passes when it
# prints that instance's flag.
# Intended path: download the message and decode its base64.
# Usage: solve.sh --connection-info "http://HOST:PORT"   (or env CTFDECK_HOST/CTFDECK_PORT)
# Prints only the flag on stdout; exit 0 on success, non-zero otherwise.
set -euo pipefail

conn=""
case "${1:-}" in
    --connection-info) conn="${2:-}" ;;
    --connection-info=*) conn="${1#*=}" ;;
esac
if [[ -z $conn && -n ${CTFDECK_HOST:-} ]]; then
    conn="http://${CTFDECK_HOST}:${CTFDECK_PORT:-8080}"
fi
[[ -n $conn ]] || { echo "usage: $0 --connection-info http://HOST:PORT" >&2; exit 2; }
[[ $conn == *://* ]] || conn="http://$conn"
base="${conn%/}"

message="$(curl -fsS --max-time 10 "$base/files/secret.txt")"
flag="$(printf '%s\n' "$message" | base64 -d)"
[[ $flag == flag\{* ]] || { echo "the message does not decode to a flag" >&2; exit 1; }
printf '%s\n' "$flag"
