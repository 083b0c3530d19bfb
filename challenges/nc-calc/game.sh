#!/bin/sh
# nc-calc (CTF challenge): answer ROUNDS arithmetic questions, each within
# LIMIT seconds, and get $FLAG. Too fast for most humans: script it.
# stdin/stdout are the client's TCP socket (busybox nc -e).
ROUNDS=10
LIMIT=3

echo "Welcome to nc-calc"
echo "Answer $ROUNDS questions, $LIMIT seconds each. One wrong answer and you're out."

i=1
while [ "$i" -le "$ROUNDS" ]; do
    a=$((RANDOM % 1000))
    b=$((RANDOM % 1000))
    case $((RANDOM % 3)) in
        0) op='+'; want=$((a + b)) ;;
        1) op='-'; want=$((a - b)) ;;
        *) op='*'; want=$((a * b)) ;;
    esac
    printf 'Q%d: %d %s %d = ?\n' "$i" "$a" "$op" "$b"
    if ! read -r -t "$LIMIT" ans; then
        echo "Too slow! Bye."
        exit 0
    fi
    ans=$(printf '%s' "$ans" | tr -d ' \t\r')
    if [ "$ans" != "$want" ]; then
        echo "Wrong! $a $op $b = $want. Bye."
        exit 0
    fi
    echo "Correct!"
    i=$((i + 1))
done

if [ -n "${FLAG:-}" ]; then
    echo "Well done! Flag: $FLAG"
else
    echo "Well done! (FLAG is not configured on this server.)"
fi
