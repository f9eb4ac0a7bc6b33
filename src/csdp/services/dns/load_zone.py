#!/usr/bin/python3
"""Serve an uploaded zone file, or go back to the generated zone.

Usage: load-zone PATH, where PATH is a file under /var/lib/csdp/uploads holding
resource records for $ZONE (an SOA record included), or load-zone --reset.
The file is checked with named-checkzone first; the owner's container records
are still added after its records. Prints the output of reload-zone.
"""

import os
import shutil
import subprocess
import sys

UPLOADS = "/var/lib/csdp/uploads"
UPLOADED_ZONE = "/var/lib/csdp/dns/uploaded.zone"


def main() -> int:
    zone = os.environ.get("ZONE", "csdp.test.")
    if sys.argv[1:] == ["--reset"]:
        if os.path.exists(UPLOADED_ZONE):
            os.remove(UPLOADED_ZONE)
        return subprocess.run(["/usr/local/bin/reload-zone"]).returncode
    if len(sys.argv) != 2:
        print("load-zone: expected one path under /var/lib/csdp/uploads, or --reset", file=sys.stderr)
        return 2

    path = os.path.realpath(sys.argv[1])
    if os.path.commonpath([path, UPLOADS]) != UPLOADS or not os.path.isfile(path):
        print(f"load-zone: {sys.argv[1]} is not a file under {UPLOADS}; upload the zone file there first", file=sys.stderr)
        return 2
    check = subprocess.run(["named-checkzone", zone, path], capture_output=True, text=True)
    if check.returncode != 0:
        print(f"load-zone: {sys.argv[1]} is not a valid zone file for {zone}:\n{check.stdout}{check.stderr}", file=sys.stderr)
        return 1

    backup = f"{UPLOADED_ZONE}.previous"
    had_previous = os.path.exists(UPLOADED_ZONE)
    if had_previous:
        shutil.copyfile(UPLOADED_ZONE, backup)
    shutil.copyfile(path, UPLOADED_ZONE)
    status = subprocess.run(["/usr/local/bin/reload-zone"]).returncode
    # A file that is valid alone can clash with the container records; then keep serving the old zone.
    if status != 0:
        if had_previous:
            os.replace(backup, UPLOADED_ZONE)
        else:
            os.remove(UPLOADED_ZONE)
    return status


if __name__ == "__main__":
    sys.exit(main())
