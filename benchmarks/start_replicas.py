"""Start N replicas through a job and directly with the Docker SDK; print the medians and their ratio.

The job path is what a user waits for: ``submit_start`` until the pushed
result arrives on the results exchange, with every container running. The
direct path creates and starts the same containers with the Docker SDK from 4
threads, the concurrency at which the engine is fastest on a 2-core machine.

Run from the repository root, with RabbitMQ, Redis and the engine up::

    python benchmarks/start_replicas.py --concurrency 4 8

Each ``--concurrency`` value runs its own worker subprocess (``-P threads
-c VALUE``). Everything runs on a private network, queue prefix, results
exchange and Redis database, and is removed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

RUN = uuid.uuid4().hex[:8]
ROOT = Path(__file__).resolve().parent.parent
SERVICES = ROOT / "tests" / "integration" / "workflows" / "services"
SERVICE = "sleeper"
IMAGE = "csdp/debian:bookworm"
OWNER = f"bench-{RUN}"
DIRECT_THREADS = 4
BENCH_LABEL = "io.csdp.bench"

# Settings must be in the environment before csdp reads them.
os.environ.update(
    CSDP_NETWORK_NAME="csdp-bench",
    CSDP_SUBNET_V4="10.215.0.0/16",
    CSDP_SUBNET_V6="fd5c:5d9e:3::/64",
    CSDP_REDIS_URL="redis://127.0.0.1:6379/14",
    CSDP_QUEUE_PREFIX=f"bench-{RUN}-",
    CSDP_RESULTS_EXCHANGE=f"csdp.results.bench-{RUN}",
    CSDP_SERVICES_PATH=json.dumps([str(SERVICES)]),
)

import docker  # noqa: E402
from kombu import Queue  # noqa: E402

from csdp.runtime import get_runtime  # noqa: E402
from csdp.settings import get_settings  # noqa: E402
from csdp.workflows.app import REALTIME, SCHEDULED, app, queue_name  # noqa: E402
from csdp.workflows.notify import results_exchange  # noqa: E402
from csdp.workflows.submit import submit_start  # noqa: E402

RESULT_TIMEOUT = 180


class Worker:
    def __init__(self, concurrency: int, log_path: Path) -> None:
        settings = get_settings()
        self.log_path = log_path
        self.command = [
            sys.executable, "-m", "celery", "-A", "csdp.workflows.app", "worker",
            "-P", "threads", "-c", str(concurrency),
            "-Q", f"{queue_name(REALTIME, settings)},{queue_name(SCHEDULED, settings)}",
            "-n", f"bench-{RUN}-{concurrency}@%h", "--without-gossip", "--without-mingle", "--loglevel", "INFO",
        ]

    def __enter__(self) -> Worker:
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with open(self.log_path, "ab") as log_file:
            self.process = subprocess.Popen(self.command, stdout=log_file, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if " ready." in self.log_path.read_text(errors="replace")[offset:]:
                return self
            if self.process.poll() is not None:
                raise SystemExit(f"worker exited at start; see {self.log_path}")
            time.sleep(0.1)
        raise SystemExit(f"worker was not ready within 30 s; see {self.log_path}")

    def __exit__(self, *exc_info) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def time_job(num: int, results) -> float:
    """Return the seconds from submit to the pushed result of a start of ``num`` replicas."""
    started = time.perf_counter()
    job = submit_start(OWNER, SERVICE, num, {}, 3600, None, max_containers=num, max_replicas=num)
    deadline = time.monotonic() + RESULT_TIMEOUT
    while time.monotonic() < deadline:
        message = results.get(no_ack=True)
        if message is None:
            time.sleep(0.005)
            continue
        record = json.loads(message.body)
        if record["id"] != job.id:
            continue
        elapsed = time.perf_counter() - started
        if record["state"] != "succeeded":
            raise SystemExit(f"job {job.id} failed: {record['error']}")
        statuses = [item["status"] for item in record["result"]["containers"]]
        if statuses != ["running"] * num:
            raise SystemExit(f"job {job.id} ended with containers {statuses}")
        return elapsed
    raise SystemExit(f"no result of job {job.id} within {RESULT_TIMEOUT} s")


def time_direct(client: docker.DockerClient, num: int) -> float:
    """Return the seconds to create and start ``num`` containers with the SDK from 4 threads."""
    network = get_settings().network_name
    batch = uuid.uuid4().hex[:8]

    def create_and_start(index: int) -> None:
        container = client.containers.create(
            IMAGE, ["sleep", "infinity"], name=f"bench-{RUN}-{batch}-{index}", network=network, init=True,
            mem_limit="256m", pids_limit=256, cap_drop=["ALL"], security_opt=["no-new-privileges"],
            labels={BENCH_LABEL: RUN},
        )
        container.start()

    started = time.perf_counter()
    with ThreadPoolExecutor(DIRECT_THREADS) as pool:
        list(pool.map(create_and_start, range(num)))
    return time.perf_counter() - started


def remove_all(client: docker.DockerClient) -> None:
    """Remove the containers of this run, both paths, with 4 threads."""
    runtime = get_runtime()
    ids = [info.id for info in runtime.list(owner=OWNER)]
    ids += [container.id for container in client.containers.list(all=True, filters={"label": f"{BENCH_LABEL}={RUN}"})]
    with ThreadPoolExecutor(DIRECT_THREADS) as pool:
        list(pool.map(runtime.remove, ids))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[1, 10, 30], help="replica counts to start")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per count; the median is reported")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[get_settings().worker_concurrency], help="worker threads to try")
    options = parser.parse_args()

    client = docker.from_env(timeout=120)
    runtime = get_runtime()
    network_existed = client.networks.list(names=[get_settings().network_name]) != []
    runtime.ensure_network()

    connection = app.connection_for_read()
    channel = connection.channel()
    results = Queue(f"bench-results-{RUN}", results_exchange(), routing_key=f"{OWNER}.*", exclusive=True, auto_delete=True)(channel)
    results.declare()

    log_path = Path(tempfile.gettempdir()) / f"csdp-bench-worker-{RUN}.log"
    print(f"worker log: {log_path}")
    print(f"{'threads':>7} {'N':>3} {'job s':>7} {'direct s':>8} {'ratio':>6}")
    try:
        direct: dict[int, float] = {}
        for concurrency in options.concurrency:
            with Worker(concurrency, log_path):
                # One unmeasured start warms the worker, the catalog and the connections.
                time_job(1, results)
                remove_all(client)
                for num in options.counts:
                    job_times, direct_times = [], []
                    for _ in range(options.rounds):
                        job_times.append(time_job(num, results))
                        remove_all(client)
                        direct_times.append(time_direct(client, num))
                        remove_all(client)
                    direct[num] = statistics.median(direct_times)
                    job = statistics.median(job_times)
                    print(f"{concurrency:>7} {num:>3} {job:>7.2f} {direct[num]:>8.2f} {job / direct[num]:>6.2f}", flush=True)
    finally:
        remove_all(client)
        results.delete()
        with app.connection_for_write() as admin:
            for kind in (REALTIME, SCHEDULED):
                admin.default_channel.queue_delete(queue_name(kind))
                admin.default_channel.exchange_delete(queue_name(kind))
            admin.default_channel.exchange_delete(get_settings().results_exchange)
        channel.close()
        connection.release()
        if not network_existed:
            runtime.remove_network()


if __name__ == "__main__":
    main()
