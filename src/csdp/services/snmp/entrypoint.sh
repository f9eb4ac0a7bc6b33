#!/bin/sh
# Write the agent's configuration from SNMP_* variables, then run snmpd in the
# foreground with its log on stdout.
set -eu

conf=/run/snmpd/snmpd.conf
ro_community=${SNMP_RO_COMMUNITY-public}
rw_community=${SNMP_RW_COMMUNITY-}
sys_name=${SNMP_SYS_NAME:-$(hostname)}
sys_contact=${SNMP_SYS_CONTACT:-qa@example.org}
sys_location=${SNMP_SYS_LOCATION:-csdp}
v3_user=${SNMP_V3_USER-}

{
    echo "agentAddress udp:161,udp6:161"
    # A MAC-based engine ID stays the same across restarts of this container,
    # so SNMPv3 managers keep their discovered engine ID.
    echo "engineIDType 3"
    echo "sysName $sys_name"
    echo "sysContact $sys_contact"
    echo "sysLocation $sys_location"
    echo "sysServices 72"
    if [ -n "$ro_community" ]; then
        echo "rocommunity $ro_community default"
        echo "rocommunity6 $ro_community default"
    fi
    if [ -n "$rw_community" ]; then
        echo "rwcommunity $rw_community default"
        echo "rwcommunity6 $rw_community default"
    fi
    if [ -n "$v3_user" ]; then
        auth_pass=${SNMP_V3_AUTH_PASSPHRASE-}
        priv_pass=${SNMP_V3_PRIV_PASSPHRASE-}
        if [ ${#auth_pass} -lt 8 ]; then
            echo "snmpd-entrypoint: SNMPv3 user $v3_user needs an authentication passphrase of at least 8 characters; set v3_auth_passphrase" >&2
            exit 2
        fi
        if [ -n "$priv_pass" ] && [ ${#priv_pass} -lt 8 ]; then
            echo "snmpd-entrypoint: the privacy passphrase of $v3_user is shorter than 8 characters; set a longer v3_priv_passphrase or leave it empty" >&2
            exit 2
        fi
        if [ -n "$priv_pass" ]; then
            echo "createUser $v3_user ${SNMP_V3_AUTH_PROTOCOL:-SHA} \"$auth_pass\" ${SNMP_V3_PRIV_PROTOCOL:-AES} \"$priv_pass\""
            level=priv
        else
            echo "createUser $v3_user ${SNMP_V3_AUTH_PROTOCOL:-SHA} \"$auth_pass\""
            level=auth
        fi
        if [ "${SNMP_V3_ACCESS:-read-only}" = "read-write" ]; then
            echo "rwuser $v3_user $level"
        else
            echo "rouser $v3_user $level"
        fi
    fi
    echo "includeDir /etc/snmp/extra.d"
} > "$conf"
chmod 600 "$conf"

# Users created by createUser are stored again in the persistent file; starting
# from an empty one keeps a restart from seeing each user twice.
rm -f /var/lib/snmp/snmpd.conf

# The shell stays as the parent of snmpd: on SIGHUP it restarts the agent, because
# snmpd's own SIGHUP reload cannot replace OIDs that a fragment registered with
# override ("duplicate registration"). Values set with SNMP SET are lost then.
echo $$ > /run/snmpd/entrypoint.pid
agent_pid=
reloading=0

run_agent() {
    echo "snmpd-entrypoint: starting snmpd on UDP 161 (sysName $sys_name)"
    snmpd -f -Lo -C -c "$conf" -p /run/snmpd/snmpd.pid -I -smux,mteTrigger,mteTriggerConf &
    agent_pid=$!
}

on_hup() {
    reloading=1
    kill -TERM "$agent_pid" 2>/dev/null || true
}

on_term() {
    kill -TERM "$agent_pid" 2>/dev/null || true
    wait "$agent_pid" || true
    exit 0
}

trap on_hup HUP
trap on_term TERM INT
run_agent
while true; do
    status=0
    wait "$agent_pid" || status=$?
    # wait also returns when a trapped signal arrives while the agent still runs.
    if kill -0 "$agent_pid" 2>/dev/null; then
        continue
    fi
    if [ "$reloading" = 1 ]; then
        reloading=0
        run_agent
        continue
    fi
    echo "snmpd-entrypoint: snmpd exited with status $status" >&2
    exit "$status"
done
