#!/bin/sh
# Add the entries of an LDIF file, or of every *.ldif file in a directory, to the
# running directory over ldapi:/// as the container's user (no password needed).
# Records with a changetype (modify, delete, modrdn) are applied as written.
# Usage: slapd-load PATH
set -eu

if [ $# -ne 1 ]; then
    echo "usage: slapd-load FILE-OR-DIRECTORY" >&2
    exit 2
fi
if [ -d "$1" ]; then
    files=$(find "$1" -maxdepth 1 -name '*.ldif' -type f | sort)
    if [ -z "$files" ]; then
        echo "slapd-load: no .ldif files in $1; upload one first" >&2
        exit 1
    fi
elif [ -f "$1" ]; then
    files=$1
else
    echo "slapd-load: $1 does not exist; upload the LDIF file first" >&2
    exit 1
fi

for file in $files; do
    echo "loading $file"
    ldapmodify -a -Q -Y EXTERNAL -H ldapi:/// -f "$file"
done
