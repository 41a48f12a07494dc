#!/usr/bin/env bash
# secantusd-py on every interface of the container, port 27017, data in /data/db, as the
# mongodb user; arguments starting with '-' are added to (and override) these defaults.
set -Eeuo pipefail

if [ "${1:0:1}" = '-' ]; then
	set -- secantusd-py "$@"
fi

if [ "$1" = secantusd-py ]; then
	shift
	set -- secantusd-py --config /etc/secantusd/secantusd.toml --host 0.0.0.0 --port 27017 \
		--storage-path /data/db/wt --log-level WARNING --cache-size 128M "$@"
	if [ "$(id -u)" = 0 ]; then
		chown -R mongodb:mongodb /data/db
		exec setpriv --reuid=mongodb --regid=mongodb --init-groups -- "$@"
	fi
fi
exec "$@"
