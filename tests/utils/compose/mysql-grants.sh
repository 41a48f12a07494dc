#!/bin/sh
# Docker backend only: let the test user create and drop the toolkit's own kzt_* schemas,
# as the local backend does (tests/utils/_services/catalog/mysql.py: mysql_bootstrap_sql);
# the prefix is settings.NAME_PREFIX (tests/unit/utils/test_services_agreement.py checks).
mariadb -uroot -p"$MARIADB_ROOT_PASSWORD" -e "GRANT ALL PRIVILEGES ON \`kzt\\_%\`.* TO '$MARIADB_USER'@'%'; FLUSH PRIVILEGES;"
