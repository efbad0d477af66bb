#!/bin/sh
# Writes PgBouncer's configuration from the environment and starts it.
set -eu
: "${DB_HOST:=postgres}" "${DB_PORT:=5432}" "${DB_USER:=lsb}" "${DB_PASSWORD:?set DB_PASSWORD}"
: "${POOL_MODE:=transaction}" "${DEFAULT_POOL_SIZE:=20}" "${MAX_DB_CONNECTIONS:=0}" "${RESERVE_POOL_SIZE:=5}"
: "${MAX_CLIENT_CONN:=1000}" "${QUERY_WAIT_TIMEOUT:=30}"
conf=/tmp/pgbouncer
mkdir -p "$conf"
printf '"%s" "%s"\n' "$DB_USER" "$DB_PASSWORD" > "$conf/userlist.txt"
cat > "$conf/pgbouncer.ini" <<INI
[databases]
* = host=$DB_HOST port=$DB_PORT

[pgbouncer]
listen_addr = 0.0.0.0
listen_port = 6432
unix_socket_dir =
auth_type = scram-sha-256
auth_file = $conf/userlist.txt
pool_mode = $POOL_MODE
default_pool_size = $DEFAULT_POOL_SIZE
max_db_connections = $MAX_DB_CONNECTIONS
reserve_pool_size = $RESERVE_POOL_SIZE
max_client_conn = $MAX_CLIENT_CONN
query_wait_timeout = $QUERY_WAIT_TIMEOUT
server_reset_query = DISCARD ALL
logfile =
pidfile =
INI
exec pgbouncer "$conf/pgbouncer.ini"
