"""Workflows as Celery canvases, built from the manifest.

A start of N replicas is::

    chord(group(chain(create_i, connect_i, start_i, wait_ready_i, info_i) for i in range(N)), finish_start)

with ``fail_job`` as error callback of the chord body. Celery 5.7 calls an
error callback on a chord body once, but one on the header once per failing
task. The single notification is still guarded in the job store, because a
failing step ends the job itself (see ``csdp.workflows.steps``). A service with ``depends_on`` starts each
dependency first, one replica each, as earlier chords of a chain.
"""

from __future__ import annotations

from typing import Any

from celery import chain, chord, group
from celery.canvas import Signature

from csdp.catalog import Catalog, Manifest, Parameter
from csdp.errors import ManifestError
from csdp.workflows import tasks
from csdp.workflows.app import USER_PRIORITY
from csdp.workflows.specs import mask_secrets


def dependency_order(catalog: Catalog, service: str) -> list[str]:
    """Return the services ``service`` depends on, directly or not, each after its own dependencies.

    Raises NotFound for an unknown dependency and ManifestError for a cycle.
    """
    ordered: list[str] = []
    visiting: list[str] = []

    def visit(name: str) -> None:
        if name in ordered:
            return
        if name in visiting:
            cycle = " -> ".join([*visiting[visiting.index(name):], name])
            raise ManifestError(f"services depend on each other in a cycle: {cycle}; remove one depends_on entry", field="depends_on")
        visiting.append(name)
        for dependency in catalog.get(name).manifest.depends_on:
            visit(dependency)
        visiting.pop()
        ordered.append(name)

    visit(service)
    return ordered[:-1]


def replica_chain(job_id: str, owner: str, manifest: Manifest, replica: int, parameters: dict[str, Any], expires_at: str | None) -> Signature:
    """Return the steps that create one replica and end with its ``ContainerOut`` dict."""
    service = manifest.name
    # The message header shows the arguments to monitoring tools, so secrets are masked there.
    masked_args = repr((job_id, replica, service, owner, mask_secrets(manifest.parameters, parameters), expires_at))
    # Later steps get higher priorities, so replica 0 starts while the creates
    # of the other replicas still wait in the queue, as a direct loop would do.
    return chain(
        tasks.create_container.si(job_id, replica, service, owner, parameters, expires_at).set(argsrepr=masked_args, priority=USER_PRIORITY),
        tasks.connect_network.s(job_id, replica).set(priority=USER_PRIORITY + 1),
        tasks.start_container.s(job_id, replica).set(priority=USER_PRIORITY + 2),
        tasks.wait_ready.s(job_id, replica, service).set(priority=USER_PRIORITY + 3),
        tasks.container_info.s(job_id, replica).set(priority=USER_PRIORITY + 3),
    )


def start_workflow(
    job_id: str,
    owner: str,
    manifest: Manifest,
    num: int,
    parameters: dict[str, Any],
    expires_at: str | None,
    dependencies: list[tuple[Manifest, dict[str, Any]]] = (),
) -> Signature:
    """Return the canvas that starts ``num`` replicas after one replica of each dependency."""
    on_error = tasks.fail_job.s(job_id)
    stages = []
    for dependency, dependency_parameters in dependencies:
        header = group(replica_chain(job_id, owner, dependency, 0, dependency_parameters, expires_at))
        body = tasks.stage_done.si(job_id, dependency.name)
        body.link_error(on_error)
        stages.append(chord(header, body))

    header = group(replica_chain(job_id, owner, manifest, replica, parameters, expires_at) for replica in range(num))
    body = tasks.finish_start.s(job_id, manifest.name)
    body.link_error(on_error)
    stages.append(chord(header, body))
    return stages[0] if len(stages) == 1 else chain(*stages)


def targets_workflow(job_id: str, verb: str, container_ids: list[str]) -> Signature:
    """Return the canvas that stops, restarts or removes each container, then reports their ids.

    ``verb`` is stop, restart or delete. The containers belong to earlier
    jobs, so a failure removes none of them.
    """
    step = {"stop": tasks.stop_container, "restart": tasks.restart_container, "delete": tasks.remove_container}[verb]
    body = tasks.finish_targets.s(job_id)
    body.link_error(tasks.fail_job.s(job_id))
    if not container_ids:
        return tasks.finish_targets.si([], job_id)
    return chord(group(step.si(job_id, container_id) for container_id in container_ids), body)


def action_workflow(
    job_id: str,
    service: str,
    action: str,
    container_ids: list[str],
    parameters: dict[str, Any],
    action_parameters: list[Parameter],
) -> Signature:
    """Return the canvas that runs a service action in each container and collects the outputs."""
    body = tasks.finish_action.s(job_id)
    body.link_error(tasks.fail_job.s(job_id))
    steps = []
    for container_id in container_ids:
        masked_args = repr((job_id, container_id, service, action, mask_secrets(action_parameters, parameters)))
        steps.append(tasks.run_action.si(job_id, container_id, service, action, parameters).set(argsrepr=masked_args))
    return chord(group(steps), body)


def upload_workflow(job_id: str, container_id: str, directory: str, staged_path: str) -> Signature:
    """Return the canvas that extracts a staged archive into a container directory.

    The upload step removes the staged file when it ends. Failing the job
    removes it too, because the job context lists it, in case the step never ran.
    """
    on_error = tasks.fail_job.s(job_id)
    upload = tasks.upload_files.si(job_id, container_id, directory, staged_path)
    upload.link_error(on_error)
    finish = tasks.finish_upload.s(job_id, directory)
    finish.link_error(on_error)
    return chain(upload, finish)
