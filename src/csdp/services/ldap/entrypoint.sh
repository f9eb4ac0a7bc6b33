#!/bin/sh
# At first start, write slapd's configuration and seed the directory from LDAP_*
# variables and the LDIF files in /etc/ldap/seed.d; then run slapd in the foreground.
set -eu

base_dn=${LDAP_BASE_DN:-dc=example,dc=org}
admin_password=${LDAP_ADMIN_PASSWORD:-admin}
organisation=${LDAP_ORGANISATION:-Example}
users=${LDAP_USERS-}
groups=${LDAP_GROUPS-}
anonymous_access=${LDAP_ANONYMOUS_ACCESS:-read}
log_level=${LDAP_LOG_LEVEL:-stats}
work=/run/slapd/init

fail() {
    echo "slapd-entrypoint: $*" >&2
    exit 2
}

# Hash a password read from standard input, so it never appears in a command line.
hash_password() {
    umask 077
    cat > "$work/password"
    slappasswd -n -T "$work/password"
    rm -f "$work/password"
}

write_config() {
    # The container's own user may manage everything over ldapi:///, which is
    # how the load action adds entries without the admin password.
    local_user="gidNumber=$(id -g)+uidNumber=$(id -u),cn=peercred,cn=external,cn=auth"
    if [ "$anonymous_access" = "read" ]; then
        anonymous_rule="by * read"
    else
        anonymous_rule="by users read by * none"
    fi
    cat <<LDIF
dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: /run/slapd/slapd.pid
olcArgsFile: /run/slapd/slapd.args
olcLogLevel: stats

dn: cn=module{0},cn=config
objectClass: olcModuleList
cn: module{0}
olcModulePath: /usr/lib/ldap
olcModuleLoad: back_mdb

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

include: file:///etc/ldap/schema/core.ldif
include: file:///etc/ldap/schema/cosine.ldif
include: file:///etc/ldap/schema/nis.ldif
include: file:///etc/ldap/schema/inetorgperson.ldif

dn: olcDatabase={-1}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {-1}frontend
olcSizeLimit: 1000

dn: olcDatabase={0}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {0}config
olcAccess: {0}to * by dn.exact=$local_user manage by * none

dn: olcDatabase={1}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {1}mdb
olcSuffix: $base_dn
olcRootDN: cn=admin,$base_dn
olcRootPW: $(printf '%s' "$admin_password" | hash_password)
olcDbDirectory: /var/lib/ldap
olcDbMaxSize: 268435456
olcDbIndex: objectClass eq
olcDbIndex: uid,cn,mail,member eq
olcAccess: {0}to attrs=userPassword by dn.exact=$local_user manage by self write by anonymous auth by * none
olcAccess: {1}to * by dn.exact=$local_user manage by self write $anonymous_rule
LDIF
}

write_data() {
    first_rdn=${base_dn%%,*}
    attribute=${first_rdn%%=*}
    value=${first_rdn#*=}
    echo "dn: $base_dn"
    case "$attribute" in
        dc) printf 'objectClass: dcObject\nobjectClass: organization\ndc: %s\no: %s\n' "$value" "$organisation" ;;
        o) printf 'objectClass: organization\no: %s\n' "$value" ;;
        *) fail "base DN $base_dn must start with dc= or o=, such as dc=example,dc=org" ;;
    esac
    printf '\ndn: ou=people,%s\nobjectClass: organizationalUnit\nou: people\n' "$base_dn"
    printf '\ndn: ou=groups,%s\nobjectClass: organizationalUnit\nou: groups\n' "$base_dn"

    number=10000
    for pair in $(echo "$users" | tr ',' ' '); do
        name=${pair%%:*}
        password=${pair#*:}
        if [ -z "$name" ] || [ "$name" = "$pair" ]; then
            fail "user entry '$name' must be name:password, such as alice:secret1"
        fi
        number=$((number + 1))
        printf '\ndn: uid=%s,ou=people,%s\n' "$name" "$base_dn"
        printf 'objectClass: inetOrgPerson\nobjectClass: posixAccount\n'
        printf 'uid: %s\ncn: %s\nsn: %s\nmail: %s@example.org\n' "$name" "$name" "$name" "$name"
        printf 'uidNumber: %s\ngidNumber: 10000\nhomeDirectory: /home/%s\nloginShell: /bin/sh\n' "$number" "$name"
        printf 'userPassword: %s\n' "$(printf '%s' "$password" | hash_password)"
    done

    for group in $(echo "$groups" | tr ' ,' '+ '); do
        name=${group%%:*}
        members=$(echo "${group#*:}" | tr '+' ' ')
        if [ -z "$name" ] || [ "$name" = "$group" ] || [ -z "$members" ]; then
            fail "group entry '$name' must be name:member member..., such as admins:alice bob"
        fi
        printf '\ndn: cn=%s,ou=groups,%s\nobjectClass: groupOfNames\ncn: %s\n' "$name" "$base_dn" "$name"
        for member in $members; do
            printf 'member: uid=%s,ou=people,%s\n' "$member" "$base_dn"
        done
    done
}

if [ -e /var/lib/ldap/data.mdb ]; then
    echo "slapd-entrypoint: keeping the directory of an earlier start"
else
    mkdir -p "$work"
    write_config > "$work/config.ldif"
    write_data > "$work/data.ldif"
    slapadd -n 0 -F /etc/ldap/slapd.d -l "$work/config.ldif"
    slapadd -n 1 -F /etc/ldap/slapd.d -l "$work/data.ldif"
    for file in /etc/ldap/seed.d/*.ldif; do
        [ -e "$file" ] || continue
        echo "slapd-entrypoint: loading $file"
        slapadd -n 1 -F /etc/ldap/slapd.d -l "$file"
    done
    rm -rf "$work"
    echo "slapd-entrypoint: created $base_dn with admin cn=admin,$base_dn"
fi

# slapd sizes its connection table by the open-files limit; Docker's default of
# about a million makes it reserve far more memory than the container may use.
ulimit -n 1024
# -d keeps slapd in the foreground and writes its log at that level to stderr.
if [ "$log_level" = "none" ]; then
    log_level=0
fi
exec slapd -d "$log_level" -h "ldap:/// ldapi:///" -F /etc/ldap/slapd.d
