#!/bin/sh
# Start Redis in the foreground, requiring the password from the environment.
set -eu
: "${REDIS_PASSWORD:?set REDIS_PASSWORD; csdp deploy up generates one}"
chown redis:redis /data
umask 077
printf 'requirepass "%s"\n' "$REDIS_PASSWORD" > /etc/redis/password.conf
chown redis:redis /etc/redis/password.conf
exec setpriv --reuid=redis --regid=redis --init-groups redis-server /etc/redis/csdp.conf --include /etc/redis/password.conf
