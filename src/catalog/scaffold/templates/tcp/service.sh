#!/bin/sh
# The service of __ID__: one run per connection, the socket is stdin/stdout.
# $FLAG is injected per instance.
echo "Welcome to __ID__."
echo "What is the magic word?"
IFS= read -r word || exit 0
word="$(printf '%s' "$word" | tr -d '\r')"
if [ "$word" = "please" ]; then
    echo "Flag: ${FLAG:-FLAG is not set}"
else
    echo "Wrong. Ask nicely."
fi
