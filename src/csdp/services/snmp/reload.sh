#!/bin/sh
# Restart snmpd inside the container so it reads its configuration again,
# including new or changed files in /etc/snmp/extra.d.
set -eu

old_pid=$(cat /run/snmpd/snmpd.pid 2>/dev/null || echo none)
kill -HUP "$(cat /run/snmpd/entrypoint.pid)"

# Wait up to 10 s for the new agent to write its pid file.
tries=0
while [ $tries -lt 100 ]; do
    new_pid=$(cat /run/snmpd/snmpd.pid 2>/dev/null || echo none)
    if [ "$new_pid" != "none" ] && [ "$new_pid" != "$old_pid" ] && kill -0 "$new_pid" 2>/dev/null; then
        echo "snmpd restarted with the current configuration (pid $new_pid)"
        exit 0
    fi
    tries=$((tries + 1))
    sleep 0.1
done
echo "snmpd-reload: snmpd did not come back within 10 s; see the container log" >&2
exit 1
