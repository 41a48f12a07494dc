#!/usr/bin/env bash
# As the official redis image: arguments starting with '-' (or a .conf file) go to
# redis-server; the server runs as the redis user in /data. Protected mode is off by default
# (the official image builds it so), since clients reach it through the container's
# interface; a later `--protected-mode yes` argument still wins.
set -Eeuo pipefail

if [ "${1:0:1}" = '-' ] || [ "${1%.conf}" != "$1" ]; then
	set -- redis-server "$@"
fi

if [ "$1" = redis-server ] && [ "$(id -u)" = 0 ]; then
	find . \! -user redis -exec chown redis '{}' +
	exec setpriv --reuid=redis --regid=redis --init-groups -- "${BASH_SOURCE[0]}" "$@"
fi

second="${2:-}"
if [ "$1" = redis-server ] && [ "${second%.conf}" = "$second" ]; then
	shift
	set -- redis-server --protected-mode no "$@"
fi

umask 0077
exec "$@"
