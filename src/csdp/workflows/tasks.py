"""Celery tasks: one runtime verb each, composed into workflows by ``csdp.workflows.canvas``.

Every task is safe to run twice for the same job and replica or container,
because messages are acknowledged late and a killed worker's task runs again.
Start steps pass the container id down their chain: each returns it, and the
next one takes it as its first argument. Only the last step of the chain
stores its result, because the chord reads nothing else and every stored
result costs the worker time.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from celery.exceptions import Retry
from celery.signals import worker_ready

from csdp.catalog import check_parameters
from csdp.errors import CsdpError, InvalidInput, StepFailed
from csdp.runtime import get_runtime
from csdp.settings import get_settings
from csdp.workflows import finish
from csdp.workflows import task_failures  # noqa: F401  (connects the handler that fails jobs of broken tasks)
from csdp.workflows.app import app
from csdp.workflows.jobs import JobStore
from csdp.workflows.injection import add_injections
from csdp.workflows.inventory import sync_owner_inventory
from csdp.workflows.owner_addresses import has_owner_addresses, resolve_owner_addresses
from csdp.workflows.specs import build_spec, container_out, get_catalog, readiness_of
from csdp.workflows.steps import describe, run_step

log = logging.getLogger(__name__)

PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*)\}")


@worker_ready.connect
def ensure_network(**_: Any) -> None:
    """Create the service network when a worker starts, so the first connect step finds it."""
    try:
        network = get_runtime().ensure_network()
    except CsdpError as exc:
        log.warning("cannot check the service network at worker start: %s", exc.message)
        return
    log.info("service network %s is ready", network.name)


# Steps of a start: create, connect, start, wait_ready, info.


@app.task(bind=True, name="csdp.workflows.tasks.create_container", throws=(StepFailed,), ignore_result=True)
def create_container(self, job_id: str, replica: int, service: str, owner: str, parameters: dict[str, Any], expires_at: str | None) -> str:
    """Create replica ``replica`` of ``service`` for the job and return its container id.

    Safe to retry: the runtime derives the name from owner, service, job and
    replica and returns the existing container on a second call. Cleans up
    nothing itself; fail_job removes the job's containers.
    """

    def action() -> str:
        item = get_catalog().get(service)
        spec = build_spec(
            item,
            owner=owner,
            job_id=job_id,
            replica=replica,
            parameters=parameters,
            expires_at=datetime.fromisoformat(expires_at) if expires_at else None,
        )
        return get_runtime().create(add_injections(item.manifest, spec)).id

    return run_step(self, job_id, "create", action, replica=replica, owns_container=True)


@app.task(bind=True, name="csdp.workflows.tasks.connect_network", throws=(StepFailed,), ignore_result=True)
def connect_network(self, container_id: str, job_id: str, replica: int) -> str:
    """Attach the container to the service network and return its id.

    Safe to retry: an attached container counts as done.
    """

    def action() -> str:
        get_runtime().connect_network(container_id)
        return container_id

    return run_step(self, job_id, "connect", action, replica=replica, container_id=container_id, owns_container=True)


@lru_cache(maxsize=1)
def start_slots() -> threading.BoundedSemaphore:
    """Return the semaphore that bounds concurrent starts in this worker to ``CSDP_START_CONCURRENCY``.

    Starts are the slow step, and the engine starts each container more slowly
    when more run at once. The other steps meanwhile run in the remaining threads.
    """
    return threading.BoundedSemaphore(get_settings().start_concurrency)


@app.task(bind=True, name="csdp.workflows.tasks.start_container", throws=(StepFailed,), ignore_result=True)
def start_container(self, container_id: str, job_id: str, replica: int) -> str:
    """Start the container and return its id. Safe to retry: a running container counts as done."""

    def action() -> str:
        with start_slots():
            return get_runtime().start(container_id).id

    return run_step(self, job_id, "start", action, replica=replica, container_id=container_id, owns_container=True)


@app.task(bind=True, name="csdp.workflows.tasks.wait_ready", throws=(StepFailed,), ignore_result=True)
def wait_ready(self, container_id: str, job_id: str, replica: int, service: str) -> str:
    """Wait until the service's readiness check passes and return the container id.

    Safe to retry: it only reads. Fails the job when the check times out or the container exits.
    """

    def action() -> str:
        readiness = readiness_of(get_catalog().get(service).manifest)
        return get_runtime().wait_ready(container_id, readiness).id

    return run_step(self, job_id, "wait_ready", action, replica=replica, container_id=container_id, owns_container=True)


@app.task(bind=True, name="csdp.workflows.tasks.container_info", throws=(StepFailed,))
def container_info(self, container_id: str, job_id: str, replica: int) -> dict[str, Any]:
    """Return the container as a ``wire.ContainerOut`` dict. Safe to retry: it only reads."""
    return run_step(
        self, job_id, "info", lambda: container_out(get_runtime().info(container_id)),
        replica=replica, container_id=container_id, owns_container=True,
    )


@app.task(bind=True, name="csdp.workflows.tasks.upload_files", throws=(StepFailed,))
def upload_files(self, job_id: str, container_id: str, directory: str, staged_path: str) -> str:
    """Extract the staged tar archive into ``directory`` of the container and return the container id.

    Safe to retry: extracting the same archive again writes the same files,
    and a copy that runs after a successful upload removed the file returns
    at once. Removes the staged file when it ends, whether it succeeded or
    failed, but keeps it while the step waits to retry.
    """

    def action() -> str:
        with open(staged_path, "rb") as archive:
            get_runtime().put_files(container_id, directory, archive)
        return container_id

    # A copy redelivered after a worker died between the upload and its
    # acknowledgement finds the staged file already removed.
    if not os.path.exists(staged_path) and upload_succeeded(job_id):
        log.info("%s: upload already done, the staged file is gone", describe(job_id, container_id))
        return container_id

    retrying = False
    try:
        return run_step(self, job_id, "upload", action, container_id=container_id)
    except Retry:
        retrying = True
        raise
    finally:
        if not retrying:
            remove_staged([staged_path], job_id)


def upload_succeeded(job_id: str) -> bool:
    record = JobStore().get(job_id)
    return record is not None and any(step.step == "upload" and step.state == "succeeded" for step in record.steps)


# Steps on existing containers: stop, restart, remove, run an action.


@app.task(bind=True, name="csdp.workflows.tasks.stop_container", throws=(StepFailed,))
def stop_container(self, job_id: str, container_id: str) -> str:
    """Stop the container and return its id. Safe to retry: stopped or gone counts as done."""

    def action() -> str:
        get_runtime().stop(container_id)
        return container_id

    return run_step(self, job_id, "stop", action, container_id=container_id)


@app.task(bind=True, name="csdp.workflows.tasks.restart_container", throws=(StepFailed,))
def restart_container(self, job_id: str, container_id: str) -> str:
    """Restart the container and return its id. Safe to retry: a second restart restarts it again."""
    return run_step(self, job_id, "restart", lambda: get_runtime().restart(container_id).id, container_id=container_id)


@app.task(bind=True, name="csdp.workflows.tasks.remove_container", throws=(StepFailed,))
def remove_container(self, job_id: str, container_id: str) -> str:
    """Force-remove the container and return its id. Safe to retry: gone counts as done."""

    def action() -> str:
        get_runtime().remove(container_id)
        return container_id

    return run_step(self, job_id, "remove", action, container_id=container_id)


@app.task(bind=True, name="csdp.workflows.tasks.run_action", throws=(StepFailed,))
def run_action(self, job_id: str, container_id: str, service: str, action_name: str, parameters: dict[str, Any]) -> dict[str, Any]:
    """Run the service action's command in the container; return ``{"container", "exit_code", "output"}``.

    A non-zero exit code is reported in the result, not raised. Safe to retry
    only as far as the action's own command is: the platform runs it again.
    ``output`` is parsed when the action declares json or jsonl output and
    stays text when parsing fails.
    """

    def execute() -> dict[str, Any]:
        action = get_catalog().get(service).manifest.action(action_name)
        if action is None:
            raise InvalidInput(f"service {service!r} has no action {action_name!r}", field="action")
        values = check_parameters(action.parameters, parameters)
        if has_owner_addresses(action.parameters):
            values = recheck_owner_addresses(job_id, action.parameters, values)
        command = render_command(action.command, values)
        result = get_runtime().exec(container_id, command, timeout=action.timeout_seconds)
        stdout = result.stdout.decode("utf-8", "replace")
        stderr = result.stderr.decode("utf-8", "replace")
        outcome = {"container": container_id, "exit_code": result.exit_code, "output": parse_output(action.output, stdout, stderr)}
        if result.truncated:
            # Output beyond the runtime's limit was dropped, which keeps the result small enough to publish.
            outcome["truncated"] = True
        return outcome

    return run_step(self, job_id, f"action {action_name}", execute, container_id=container_id)


def recheck_owner_addresses(job_id: str, parameters: list, values: dict[str, Any]) -> dict[str, Any]:
    """Resolve owner_address values again against the job owner's containers, just before the action runs.

    Between submission and this step a container may have been deleted and its
    address given to a container of another owner.
    """
    record = JobStore().get(job_id)
    if record is None:
        raise InvalidInput(f"job {job_id} has no record, so the owner of its target addresses is unknown", field="job")
    runtime = get_runtime()
    return resolve_owner_addresses(parameters, values, record.owner, lambda: runtime.list(owner=record.owner))


def render_command(command: list[str], values: dict[str, Any]) -> list[str]:
    """Replace ``{name}`` placeholders inside each argument; one argument stays one argument.

    A placeholder of a parameter without a value becomes an empty string. The
    one exception is an argument that is exactly ``{name}`` of a list value,
    such as an owner_address parameter: it becomes one argument per item.
    """
    rendered = []
    for argument in command:
        match = PLACEHOLDER.fullmatch(argument)
        if match and isinstance(values.get(match.group(1)), list):
            rendered.extend(str(item) for item in values[match.group(1)])
        else:
            rendered.append(render_argument(argument, values))
    return rendered


def render_argument(argument: str, values: dict[str, Any]) -> str:
    """Return ``argument`` with its placeholders replaced; a list inside a longer argument is joined with commas."""

    def value_of(match: re.Match) -> str:
        value = values.get(match.group(1))
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, list):
            return ",".join(str(item) for item in value)
        return str(value)

    return PLACEHOLDER.sub(value_of, argument)


def parse_output(kind: str, stdout: str, stderr: str) -> Any:
    """Return the action output: parsed JSON, a list of JSON lines, or the text of stdout and stderr."""
    if kind == "json":
        try:
            return json.loads(stdout)
        except ValueError:
            pass
    elif kind == "jsonl":
        try:
            return [json.loads(line) for line in stdout.splitlines() if line.strip()]
        except ValueError:
            pass
    return stdout + stderr


# Ends of workflows: the chord bodies and the error callback.


@app.task(name="csdp.workflows.tasks.stage_done")
def stage_done(job_id: str, service: str) -> str:
    """Close the stage that started a dependency; return its service name. Safe to retry: it changes nothing."""
    log.info("%s: dependency %s is ready", describe(job_id), service)
    return service


@app.task(bind=True, name="csdp.workflows.tasks.finish_start", throws=(StepFailed,))
def finish_start(self, results: list[dict[str, Any]], job_id: str, service: str) -> dict[str, Any]:
    """Mark a start job succeeded with ``{"containers": [...]}`` and notify once; return the result.

    The list comes from the runtime (every container labelled with the job, by
    service and replica), so dependencies are included and a redelivered
    header task cannot duplicate an entry. Safe to retry: only one caller
    publishes.
    """
    # The requested service comes first, then its dependencies.
    containers = sorted(get_runtime().list(job_id=job_id), key=lambda info: (info.service != service, info.service, info.replica))
    result = {"containers": [container_out(info) for info in containers]}
    # Before the job ends, so a client that reads the result finds the new containers in the inventories.
    update_inventory(job_id)
    finish.succeed_job(job_id, result, claimant=f"finish:{job_id}")
    return result


@app.task(bind=True, name="csdp.workflows.tasks.finish_targets", throws=(StepFailed,))
def finish_targets(self, results: list[str], job_id: str) -> dict[str, Any]:
    """Mark a stop, restart or delete job succeeded with ``{"result": "success", "containers": [ids]}``; notify once."""
    result = {"result": "success", "containers": list(results)}
    update_inventory(job_id)
    finish.succeed_job(job_id, result, claimant=f"finish:{job_id}")
    return result


def update_inventory(job_id: str) -> None:
    """Rewrite the owner inventories after a job that started, stopped, restarted or removed containers."""
    store = JobStore()
    record = store.get(job_id)
    if record is None or record.state in ("succeeded", "failed"):
        return
    sync_owner_inventory(record.owner, job_id, runtime=get_runtime(), catalog=get_catalog(), client=store.client)


@app.task(bind=True, name="csdp.workflows.tasks.finish_action", throws=(StepFailed,))
def finish_action(self, results: list[dict[str, Any]], job_id: str) -> dict[str, Any]:
    """Mark an action job succeeded with ``{"outputs": [...]}``; notify once."""
    result = {"outputs": list(results)}
    finish.succeed_job(job_id, result, claimant=f"finish:{job_id}")
    return result


@app.task(bind=True, name="csdp.workflows.tasks.finish_upload", throws=(StepFailed,))
def finish_upload(self, container_id: str, job_id: str, directory: str) -> dict[str, Any]:
    """Mark an upload job succeeded with ``{"result": "success", "containers": [id], "path": directory}``; notify once."""
    result = {"result": "success", "containers": [container_id], "path": directory}
    finish.succeed_job(job_id, result, claimant=f"finish:{job_id}")
    return result


@app.task(name="csdp.workflows.tasks.fail_job")
def fail_job(request: Any, exc: BaseException, traceback: Any, job_id: str) -> None:
    """Error callback of every workflow: fail the job, clean up, notify once.

    Celery calls it with the failed request, the exception and the traceback.
    A failing step has usually ended the job itself already (see
    ``csdp.workflows.steps``), and then this call does nothing. Otherwise it
    removes the containers of a start job and the staged files, marks the job
    failed with the exception as reason, and publishes once. Safe to run again.
    """
    reason = str(exc) or type(exc).__name__
    finish.fail_job_now(job_id, reason, claimant=f"fail:{job_id}")


@app.task(bind=True, name="csdp.workflows.tasks.clean_staged", throws=(StepFailed,))
def clean_staged(self, job_id: str, paths: list[str]) -> int:
    """Remove staged upload files; return how many existed. Safe to retry: a missing file counts as removed."""
    return remove_staged(paths, job_id)


def remove_staged(paths: list[str], job_id: str) -> int:
    """Remove each staged file that still exists and return how many were removed."""
    removed = 0
    for path in paths:
        try:
            os.remove(path)
            removed += 1
            log.info("%s: removed staged file %s", describe(job_id), Path(path).name)
        except FileNotFoundError:
            continue
        except OSError as exc:
            log.warning("%s: cannot remove staged file %s: %s", describe(job_id), path, exc)
    return removed
