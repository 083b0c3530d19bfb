#!/bin/sh
# Serve the challenge's files, with this instance's flag hidden in one of them.
set -eu
mkdir -p /tmp/www
cp -R /srv/www/. /tmp/www/
printf '%s\n' "${FLAG:-FLAG is not set}" | base64 > /tmp/www/files/secret.txt
unset FLAG
exec httpd -f -p 8080 -h /tmp/www
