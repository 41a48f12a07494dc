#!/usr/bin/env bash
# The official mariadb image's contract, in short: on an empty /var/lib/mysql, initialise it,
# give root the password of MARIADB_ROOT_PASSWORD (or none with
# MARIADB_ALLOW_EMPTY_ROOT_PASSWORD, or a random one printed once with
# MARIADB_RANDOM_ROOT_PASSWORD) for localhost and MARIADB_ROOT_HOST (default '%'), create
# MARIADB_DATABASE and MARIADB_USER/MARIADB_PASSWORD with all rights on it, load time zones
# unless MARIADB_INITDB_SKIP_TZINFO, run /docker-entrypoint-initdb.d/*.sh|*.sql|*.sql.gz on a
# socket-only server, then exec mariadbd. Every MARIADB_* may be spelled MYSQL_*.
set -Eeuo pipefail

if [ "${1:0:1}" = '-' ]; then
	set -- mariadbd "$@"
fi

env_alias() { # MARIADB_X, else MYSQL_X, else the default
	local name="MARIADB_$1" old="MYSQL_$1"
	printf '%s' "${!name:-${!old:-${2:-}}}"
}

sql_string() { # a single-quoted SQL string literal
	local s=${1//\\/\\\\}
	printf "'%s'" "${s//\'/\\\'}"
}

sql_ident() { # a back-quoted SQL identifier
	printf '`%s`' "${1//\`/\`\`}"
}

DATADIR=/var/lib/mysql
SOCKET=/run/mysqld/mysqld.sock

if { [ "$1" = mariadbd ] || [ "$1" = mysqld ]; } && [ ! -d "$DATADIR/mysql" ]; then
	ROOT_PASSWORD="$(env_alias ROOT_PASSWORD)"
	ALLOW_EMPTY="$(env_alias ALLOW_EMPTY_ROOT_PASSWORD)"
	RANDOM_ROOT="$(env_alias RANDOM_ROOT_PASSWORD)"
	ROOT_HOST="$(env_alias ROOT_HOST %)"
	DATABASE="$(env_alias DATABASE)"
	USER_NAME="$(env_alias USER)"
	USER_PASSWORD="$(env_alias PASSWORD)"
	SKIP_TZINFO="$(env_alias INITDB_SKIP_TZINFO)"
	if [ -z "$ROOT_PASSWORD" ] && [ -z "$ALLOW_EMPTY" ] && [ -z "$RANDOM_ROOT" ]; then
		echo >&2 'error: database is uninitialized and the root password option is not set;'
		echo >&2 '       set one of MARIADB_ROOT_PASSWORD, MARIADB_ALLOW_EMPTY_ROOT_PASSWORD,'
		echo >&2 '       MARIADB_RANDOM_ROOT_PASSWORD'
		exit 1
	fi
	if [ -n "$RANDOM_ROOT" ]; then
		ROOT_PASSWORD="$(head -c 24 /dev/urandom | base64 | tr -d '/+=')"
		echo "GENERATED ROOT PASSWORD: $ROOT_PASSWORD"
	fi
	export MARIADB_ROOT_PASSWORD="$ROOT_PASSWORD" MYSQL_ROOT_PASSWORD="$ROOT_PASSWORD"

	mkdir -p "$DATADIR" /run/mysqld
	chown mysql:mysql "$DATADIR" /run/mysqld
	mariadb-install-db --user=mysql --datadir="$DATADIR" --skip-test-db \
		--auth-root-authentication-method=normal --skip-name-resolve --rpm >/dev/null
	mariadbd --user=mysql --datadir="$DATADIR" --skip-networking --socket="$SOCKET" \
		--skip-name-resolve --innodb-flush-log-at-trx-commit=0 &
	temp_pid=$!
	for _ in $(seq 1 300); do  # a poll with a deadline (30 s), not a readiness sleep
		if mariadb-admin --socket="$SOCKET" -uroot ping >/dev/null 2>&1; then break; fi
		if ! kill -0 "$temp_pid" 2>/dev/null; then echo >&2 'temporary server died'; exit 1; fi
		sleep 0.1
	done
	mariadb-admin --socket="$SOCKET" -uroot ping >/dev/null

	root=(mariadb --protocol=socket --socket="$SOCKET" -uroot)
	as_root=("${root[@]}")  # once root has its password
	if [ -n "$ROOT_PASSWORD" ]; then as_root+=("-p$ROOT_PASSWORD"); fi
	pw="$(sql_string "$ROOT_PASSWORD")"
	{
		echo "SET @@SESSION.SQL_LOG_BIN=0;"
		# Only root@localhost and the system accounts survive (install-db may add
		# root@<hostname>, 127.0.0.1 and ::1).
		"${root[@]}" -NBe "SELECT CONCAT(QUOTE(User), '@', QUOTE(Host)) FROM mysql.user
			WHERE NOT (Host = 'localhost' AND User IN ('root', 'mariadb.sys', 'mysql'))" |
			sed 's/^/DROP USER /; s/$/;/'
		echo "ALTER USER 'root'@'localhost' IDENTIFIED BY $pw;"
		if [ "$ROOT_HOST" != localhost ]; then
			host="$(sql_string "$ROOT_HOST")"
			echo "CREATE USER 'root'@$host IDENTIFIED BY $pw;"
			echo "GRANT ALL ON *.* TO 'root'@$host WITH GRANT OPTION;"
		fi
		if [ -n "$DATABASE" ]; then
			echo "CREATE DATABASE IF NOT EXISTS $(sql_ident "$DATABASE");"
		fi
		if [ -n "$USER_NAME" ] && [ -n "$USER_PASSWORD" ]; then
			u="$(sql_string "$USER_NAME")"
			echo "CREATE USER $u@'%' IDENTIFIED BY $(sql_string "$USER_PASSWORD");"
			if [ -n "$DATABASE" ]; then
				echo "GRANT ALL ON $(sql_ident "${DATABASE//_/\\_}").* TO $u@'%';"
			fi
		fi
		echo "FLUSH PRIVILEGES;"
	} | "${root[@]}"
	if [ -z "$SKIP_TZINFO" ] && [ -d /usr/share/zoneinfo ]; then
		mariadb-tzinfo-to-sql --skip-write-binlog /usr/share/zoneinfo 2>/dev/null |
			"${as_root[@]}" mysql
	fi

	client=("${as_root[@]}")
	if [ -n "$DATABASE" ]; then client+=("--database=$DATABASE"); fi
	for f in /docker-entrypoint-initdb.d/*; do
		case "$f" in
			*.sh)
				echo "running $f"
				if [ -x "$f" ]; then "$f"; else . "$f"; fi ;;
			*.sql) echo "running $f"; "${client[@]}" < "$f" ;;
			*.sql.gz) echo "running $f"; gunzip -c "$f" | "${client[@]}" ;;
			*/\*) ;;
			*) echo "ignoring $f" ;;
		esac
	done
	admin=(mariadb-admin --socket="$SOCKET" -uroot)
	if [ -n "$ROOT_PASSWORD" ]; then admin+=("-p$ROOT_PASSWORD"); fi
	"${admin[@]}" shutdown
	wait "$temp_pid" || true
	echo 'MariaDB init process done. Ready for start up.'
fi

if { [ "$1" = mariadbd ] || [ "$1" = mysqld ]; } && [ "$(id -u)" = 0 ]; then
	exec setpriv --reuid=mysql --regid=mysql --init-groups -- "$@"
fi
exec "$@"
