#!/bin/sh
# Docker backend only: let the test user create and drop the toolkit's own kzt_* schemas,
# as the local backend does (tests/utils/_services/local.py: mysql_bootstrap_sql).
mariadb -uroot -p"$MARIADB_ROOT_PASSWORD" -e "GRANT ALL PRIVILEGES ON \`kzt\\_%\`.* TO '$MARIADB_USER'@'%'; FLUSH PRIVILEGES;"
