#!/opt/csdp/venv/bin/python
"""Run test scripts with pytest or python and exit with their exit code.

The script of the request (--script, its text) runs in a fresh temporary
folder. Without one, the named scripts of /opt/scripts run, or all of them;
the files action uploads scripts there.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

SCRIPTS_DIR = Path("/opt/scripts")
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
# Exit code when the request names no script that exists, as for a usage error.
NO_SCRIPTS = 2


def main() -> int:
    parser = argparse.ArgumentParser(prog="csdp-run")
    parser.add_argument("--runner", choices=("pytest", "python"), default="pytest")
    parser.add_argument("--name", default="test_script.py")
    parser.add_argument("--script", default="")
    parser.add_argument("--scripts", default="")
    args = parser.parse_args()

    if args.script:
        if not NAME.fullmatch(args.name) or not args.name.endswith(".py"):
            print(f"csdp-run: script name {args.name!r} is invalid: use letters, digits, '.', '_' or '-' ending in .py", file=sys.stderr)
            return NO_SCRIPTS
        folder = Path(tempfile.mkdtemp(prefix="csdp-run-"))
        target = folder / args.name
        target.write_text(args.script, encoding="utf-8")
        return run(args.runner, [target], folder)

    names = args.scripts.replace(",", " ").split()
    bad = [name for name in names if not NAME.fullmatch(name)]
    if bad:
        print(f"csdp-run: script name {bad[0]!r} is invalid: give file names inside {SCRIPTS_DIR}, without folders", file=sys.stderr)
        return NO_SCRIPTS
    targets = [SCRIPTS_DIR / name for name in names] if names else sorted(SCRIPTS_DIR.glob("*.py"))
    missing = [str(path) for path in targets if not path.is_file()]
    if missing or not targets:
        print(
            f"csdp-run: no script to run ({', '.join(missing) or 'no .py file in ' + str(SCRIPTS_DIR)}); "
            f"pass the script parameter or upload scripts with 'files upload --to {SCRIPTS_DIR}'",
            file=sys.stderr,
        )
        return NO_SCRIPTS
    return run(args.runner, targets, SCRIPTS_DIR)


def run(runner: str, targets: list[Path], cwd: Path) -> int:
    """Run the targets and return pytest's exit code, or the first non-zero one of the python runs."""
    if runner == "pytest":
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *map(str, targets)]
        return subprocess.run(command, cwd=cwd, stderr=subprocess.STDOUT).returncode

    result = 0
    for target in targets:
        if len(targets) > 1:
            print(f"== {target.name}", flush=True)
        code = subprocess.run([sys.executable, str(target)], cwd=cwd, stderr=subprocess.STDOUT).returncode
        if code != 0 and result == 0:
            result = code
    return result


if __name__ == "__main__":
    sys.exit(main())
