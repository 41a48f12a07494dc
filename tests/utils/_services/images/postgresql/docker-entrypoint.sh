#!/usr/bin/env bash
# The official postgres image's contract, in short: on an empty $PGDATA, initdb as
# $POSTGRES_USER (default postgres) with $POSTGRES_PASSWORD (required unless
# POSTGRES_HOST_AUTH_METHOD=trust), $POSTGRES_INITDB_ARGS, create $POSTGRES_DB (default: the
# user), run /docker-entrypoint-initdb.d/*.sh|*.sql|*.sql.gz on a socket-only server, then
# exec the server listening on every interface of the container.
set -Eeuo pipefail

if [ "${1:0:1}" = '-' ]; then
	set -- postgres "$@"
fi

if [ "$1" = postgres ] && [ "$(id -u)" = 0 ]; then
	mkdir -p "$PGDATA"
	chown postgres:postgres "$PGDATA"
	chmod 700 "$PGDATA"
	exec setpriv --reuid=postgres --regid=postgres --init-groups -- "${BASH_SOURCE[0]}" "$@"
fi

if [ "$1" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
	: "${POSTGRES_USER:=postgres}"
	: "${POSTGRES_DB:=$POSTGRES_USER}"
	: "${POSTGRES_PASSWORD:=}"
	: "${POSTGRES_HOST_AUTH_METHOD:=}"
	if [ -z "$POSTGRES_PASSWORD" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != trust ]; then
		echo >&2 'error: database is uninitialized and POSTGRES_PASSWORD is not set;'
		echo >&2 '       set POSTGRES_PASSWORD (or POSTGRES_HOST_AUTH_METHOD=trust)'
		exit 1
	fi
	# shellcheck disable=SC2086  # POSTGRES_INITDB_ARGS is a word list, as upstream
	initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") \
		-D "$PGDATA" ${POSTGRES_INITDB_ARGS:-} >/dev/null
	printf "\nlisten_addresses = '*'\n" >> "$PGDATA/postgresql.conf"
	auth="${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}"
	printf '\nhost all all all %s\n' "$auth" >> "$PGDATA/pg_hba.conf"

	pg_ctl -D "$PGDATA" -w -s \
		-o "-c listen_addresses='' -c unix_socket_directories=/var/run/postgresql" start
	export PGPASSWORD="$POSTGRES_PASSWORD"
	psql=(psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc
		-h /var/run/postgresql -q)
	if [ "$POSTGRES_DB" != postgres ]; then
		"${psql[@]}" --dbname postgres --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db";'
	fi
	for f in /docker-entrypoint-initdb.d/*; do
		case "$f" in
			*.sh)
				echo "running $f"
				if [ -x "$f" ]; then "$f"; else . "$f"; fi ;;
			*.sql) echo "running $f"; "${psql[@]}" --dbname "$POSTGRES_DB" -f "$f" ;;
			*.sql.gz) echo "running $f"; gunzip -c "$f" | "${psql[@]}" --dbname "$POSTGRES_DB" ;;
			*/\*) ;;
			*) echo "ignoring $f" ;;
		esac
	done
	unset PGPASSWORD
	pg_ctl -D "$PGDATA" -m fast -w -s stop
	echo 'PostgreSQL init process complete; ready for start up.'
fi

exec "$@"
