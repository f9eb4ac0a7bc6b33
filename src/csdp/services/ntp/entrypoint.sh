#!/bin/sh
# Write chrony.conf from NTP_* variables, then run chronyd in the foreground as
# an NTP server that never adjusts the host clock.
set -eu

conf=/run/chrony/chrony.conf
stratum=${NTP_LOCAL_STRATUM:-10}
allow=${NTP_ALLOW:-all}
servers=$(echo "${NTP_SERVERS-}" | tr ',' ' ')

{
    for server in $servers; do
        echo "server $server iburst"
    done
    # Serve the local clock at this stratum while no upstream server is
    # reachable, so clients get a reply instead of stratum 16.
    echo "local stratum $stratum"
    for network in $(echo "$allow" | tr ',' ' '); do
        if [ "$network" = "all" ]; then
            echo "allow all"
        else
            echo "allow $network"
        fi
    done
    echo "driftfile /var/lib/chrony/chrony.drift"
    echo "pidfile /run/chrony/chronyd.pid"
    echo "bindcmdaddress /run/chrony/chronyd.sock"
    echo "cmdport 0"
} > "$conf"

echo "chronyd-entrypoint: serving NTP on UDP 123 at local stratum $stratum; upstream servers: ${servers:-none}"
# -x: never call adjtimex to change the clock, so no SYS_TIME capability is
#     needed. -U: start without root, since the container grants no capability
#     to drop. -d: stay in the foreground and log to stderr.
exec chronyd -d -x -U -f "$conf"
