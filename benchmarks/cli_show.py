"""Time ``csdp <service> show`` as a subprocess against a running API, next to ``python -c pass``.

Usage: CSDP_URL=http://127.0.0.1:8000 CSDP_TOKEN=... python benchmarks/cli_show.py [--runs 20] [--service syslog]

The first, untimed run fills the catalog cache, as after any earlier csdp
command; every timed run then does one API request. The target is a median of
at most 100 ms wall time.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

TARGET_MS = 100.0


def measure(command: list[str], runs: int, env: dict[str, str]) -> tuple[float, float, float, float]:
    """Return the median, minimum and maximum wall time and the median CPU time of ``command``, in ms.

    CPU time (user plus system, from getrusage) moves less than wall time when
    other processes load the machine.
    """
    wall, cpu = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        completed = subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wall.append((time.perf_counter() - started) * 1000)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append((after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000)
        if completed.returncode != 0:
            sys.exit(f"{' '.join(command)} exited with {completed.returncode}: {completed.stderr.decode().strip()}")
    return statistics.median(wall), min(wall), max(wall), statistics.median(cpu)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20, help="timed runs of each command (default 20)")
    parser.add_argument("--service", default="syslog", help="service to show (default syslog)")
    args = parser.parse_args()
    if not os.environ.get("CSDP_URL") or not os.environ.get("CSDP_TOKEN"):
        sys.exit("set CSDP_URL and CSDP_TOKEN to a running API and a user's token")

    csdp = str(Path(sys.executable).with_name("csdp"))
    show = [csdp, args.service, "show"]
    env = dict(os.environ)
    subprocess.run(show, env=env, check=True, stdout=subprocess.DEVNULL)

    baseline = measure([sys.executable, "-c", "pass"], args.runs, env)
    measured = measure(show, args.runs, env)
    for label, (median, fastest, slowest, cpu) in (
        ("python -c pass", baseline),
        (f"csdp {args.service} show", measured),
    ):
        print(
            f"{label:22} wall median {median:6.1f} ms (min {fastest:.1f}, max {slowest:.1f}), "
            f"CPU median {cpu:5.1f} ms, {args.runs} runs"
        )
    verdict = "met" if measured[0] <= TARGET_MS else "missed"
    print(
        f"{'csdp over python':22} wall {measured[0] - baseline[0]:6.1f} ms; target {TARGET_MS:.0f} ms wall: {verdict}"
    )
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
