#!/usr/bin/env bash
# Reference solve for __ID__: ctfdeck smoke runs it against a fresh instance and passes when it
# prints that instance's flag.
# Intended path: answer the question with the magic word.
# Usage: solve.sh --connection-info "nc HOST PORT"   (or env CTFDECK_HOST/CTFDECK_PORT)
# Prints only the flag on stdout; exit 0 on success, non-zero otherwise.
set -euo pipefail

conn=""
case "${1:-}" in
    --connection-info) conn="${2:-}" ;;
    --connection-info=*) conn="${1#*=}" ;;
esac
if [[ -n $conn ]]; then
    read -r -a parts <<<"$conn"
    [[ ${parts[0]} == nc ]] && parts=("${parts[@]:1}")
    host="${parts[0]:-}"; port="${parts[1]:-}"
    if [[ -z $port && $host == *:* ]]; then port="${host##*:}"; host="${host%:*}"; fi
else
    host="${CTFDECK_HOST:-}"; port="${CTFDECK_PORT:-1337}"
fi
[[ -n $host && -n $port ]] || { echo "usage: $0 --connection-info 'nc HOST PORT'" >&2; exit 2; }

# One conversation; returns 0 with the flag printed, 1 when the server said no, 3 when the
# connection closed (or never opened) before the end — worth another try on a busy host.
talk() {
    exec 3<>"/dev/tcp/$host/$port" || return 3
    while IFS= read -r -t 10 line <&3; do
        line="${line%$'\r'}"
        if [[ $line == *"magic word"* ]]; then
            printf 'please\n' >&3
        elif [[ $line =~ ^Flag:\ ([^[:space:]]+) ]]; then
            printf '%s\n' "${BASH_REMATCH[1]}"
            return 0
        elif [[ $line == Wrong* ]]; then
            echo "server: $line" >&2
            return 1
        fi
    done
    exec 3<&-
    return 3
}

for attempt in 1 2 3; do
    status=0
    talk || status=$?
    [[ $status -eq 3 ]] || exit "$status"
    echo "attempt $attempt: connection closed without a flag" >&2
    sleep 1
done
exit 1
