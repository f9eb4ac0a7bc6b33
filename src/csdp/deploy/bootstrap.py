"""Make sure the platform has an admin; run inside an API container by ``csdp deploy up``.

``python -m csdp.deploy.bootstrap NAME`` prints one JSON object: the created
admin with its token, or the names of the admins that already exist.
"""

from __future__ import annotations

import argparse
import json
import sys

from csdp.workflows.users import add_user, list_users


def ensure_admin(name: str) -> dict:
    """Add admin ``name`` when no admin exists, and return what was done (with the token only when created)."""
    admins = [user.name for user in list_users() if user.admin]
    if admins:
        return {"created": False, "admins": admins}
    user, token = add_user(name, admin=True)
    return {"created": True, "admins": [user.name], "token": token}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m csdp.deploy.bootstrap")
    parser.add_argument("name", help="name of the admin to add when there is none")
    args = parser.parse_args(argv)
    json.dump(ensure_admin(args.name), sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
