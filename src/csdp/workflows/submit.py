"""Job submission for the API: validate, write a queued record, send the canvas.

Every function raises InvalidInput, LimitExceeded or NotFound before anything
reaches the broker, and returns the queued ``wire.JobRecord``. Callers pass
the caller's own containers or ids; an id of another owner is NotFound, exactly
as a missing one.
"""

from __future__ import annotations

import logging
import os
import posixpath
from typing import Any, Iterable

from celery.canvas import Signature

from csdp.catalog import check_parameters
from csdp.errors import EngineUnavailable, InvalidInput, LimitExceeded, NotFound
from csdp.runtime import ContainerInfo, get_runtime
from csdp.settings import get_settings
from csdp.wire import JobRecord
from csdp.workflows import canvas
from csdp.workflows.jobs import JobStore
from csdp.workflows.owner_addresses import resolve_owner_addresses
from csdp.workflows.reservations import Reservations
from csdp.workflows.specs import expiry, get_catalog, mask_secrets
from csdp.workflows.steps import describe

log = logging.getLogger(__name__)

MAX_EMAIL_LENGTH = 254


def submit_start(
    owner: str,
    service: str,
    num: Any,
    parameters: dict[str, Any] | None,
    ttl_seconds: Any,
    email: str | None,
    *,
    max_containers: int,
    max_replicas: int,
    store: JobStore | None = None,
) -> JobRecord:
    """Queue a start of ``num`` replicas of ``service`` for ``owner``; return the queued record.

    Raises NotFound for an unknown service, InvalidInput naming the field and
    the allowed range for ``num``, ``ttl_seconds``, ``email`` or a parameter,
    and LimitExceeded when the owner would have more than ``max_containers``.
    """
    settings = get_settings()
    catalog = get_catalog()
    manifest = catalog.get(service).manifest

    allowed = min(manifest.limits.max_replicas, max_replicas)
    if isinstance(num, bool) or not isinstance(num, int) or not 1 <= num <= allowed:
        raise InvalidInput(f"num must be an integer from 1 to {allowed}, got {num!r}", field="num", minimum=1, maximum=allowed)

    if ttl_seconds is None:
        ttl_seconds = settings.default_ttl_seconds
    if isinstance(ttl_seconds, bool) or not isinstance(ttl_seconds, int) or not 1 <= ttl_seconds <= settings.max_ttl_seconds:
        raise InvalidInput(
            f"ttl_seconds must be an integer from 1 to {settings.max_ttl_seconds}, got {ttl_seconds!r}",
            field="ttl_seconds",
            maximum=settings.max_ttl_seconds,
        )

    email = check_email(email)
    values = check_parameters(manifest.parameters, parameters)
    dependencies = []
    for name in canvas.dependency_order(catalog, service):
        dependency = catalog.get(name).manifest
        dependency_values = check_parameters(dependency.parameters, {}, field=f"depends_on.{name}.parameters")
        dependencies.append((dependency, dependency_values))

    store = store or JobStore()
    reservations = Reservations(store)
    requested = num + len(dependencies)
    # Under the owner's lock, so concurrent starts see each other's reservations.
    with reservations.locked(owner):
        current, pending = reservations.count(owner, lambda: get_runtime().list(owner=owner))
        if current + pending + requested > max_containers:
            queued = f" and {pending} being started" if pending else ""
            raise LimitExceeded(
                f"starting {requested} containers would give {owner!r} {current + pending + requested}, "
                f"above the limit of {max_containers}; delete some of the {current} existing containers{queued} first",
                limit=max_containers,
                current=current,
                requested=requested,
                **({"reserved": pending} if pending else {}),
            )
        record = store.create(owner, service, "start", mask_secrets(manifest.parameters, values), email=email)
        reservations.reserve(owner, record.id, requested)
    workflow = canvas.start_workflow(record.id, owner, manifest, num, values, expiry(ttl_seconds), dependencies)
    try:
        _send(store, record, workflow)
    except EngineUnavailable:
        reservations.release(owner, record.id)
        raise
    log.info("%s: queued start of %d replicas of %s for %s", describe(record.id), num, service, owner)
    return record


def submit_stop(owner: str, containers: Iterable[ContainerInfo | str] | None = None, service: str | None = None, email: str | None = None, *, store: JobStore | None = None) -> JobRecord:
    """Queue stopping ``containers`` (all of the owner's, of ``service`` if given, when None)."""
    return _submit_targets("stop", owner, containers, service, email, store)


def submit_restart(owner: str, containers: Iterable[ContainerInfo | str] | None = None, service: str | None = None, email: str | None = None, *, store: JobStore | None = None) -> JobRecord:
    """Queue restarting ``containers`` (all of the owner's, of ``service`` if given, when None)."""
    return _submit_targets("restart", owner, containers, service, email, store)


def submit_delete(owner: str, containers: Iterable[ContainerInfo | str] | None = None, service: str | None = None, email: str | None = None, *, store: JobStore | None = None) -> JobRecord:
    """Queue removing ``containers`` (all of the owner's, of ``service`` if given, when None)."""
    return _submit_targets("delete", owner, containers, service, email, store)


def submit_upload(owner: str, container_id: str, directory: str, staged_path: str | os.PathLike, email: str | None = None, *, store: JobStore | None = None) -> JobRecord:
    """Queue extracting the staged tar archive ``staged_path`` into ``directory`` of the container.

    The staged file is removed whatever happens: here when validation fails,
    by the workflow otherwise.
    """
    staged_path = str(staged_path)
    try:
        if not isinstance(directory, str) or not directory.startswith("/") or "\x00" in directory:
            raise InvalidInput(f"path must be an absolute directory such as /tmp, got {directory!r}", field="path")
        directory = posixpath.normpath(directory)
        if not os.path.isfile(staged_path):
            raise NotFound(f"staged upload {staged_path} does not exist; upload the file again", field="file")
        email = check_email(email)
        info = _resolve(owner, [container_id])[0]
        store = store or JobStore()
        record = store.create(owner, info.service, "upload", {"container": info.id, "path": directory}, email=email, staged=[staged_path])
        _send(store, record, canvas.upload_workflow(record.id, info.id, directory, staged_path))
    except BaseException:
        _remove_quietly(staged_path)
        raise
    log.info("%s: queued upload into %s of container %s", describe(record.id), directory, info.name)
    return record


def submit_action(
    owner: str,
    service: str,
    action: str,
    containers: Iterable[ContainerInfo | str] | None,
    parameters: dict[str, Any] | None,
    email: str | None = None,
    *,
    store: JobStore | None = None,
) -> JobRecord:
    """Queue the service action in each target container (all of the owner's of ``service`` when None)."""
    manifest = get_catalog().get(service).manifest
    declared = manifest.action(action)
    if declared is None:
        known = ", ".join(item.name for item in manifest.actions) or "none"
        raise NotFound(f"service {service!r} has no action {action!r}; its actions: {known}", field="action")
    values = check_parameters(declared.parameters, parameters)
    # Addresses the action reaches over the network must be the owner's own containers.
    values = resolve_owner_addresses(declared.parameters, values, owner, lambda: get_runtime().list(owner=owner))
    email = check_email(email)

    targets = _resolve(owner, containers, service)
    wrong = [info.name for info in targets if info.service != service]
    if wrong:
        raise NotFound(f"container {wrong[0]} is not a container of service {service!r}", field="container")
    if not targets:
        raise NotFound(f"you have no containers of service {service!r}; start one first", field="container")

    store = store or JobStore()
    record = store.create(owner, service, action, mask_secrets(declared.parameters, values), email=email)
    _send(store, record, canvas.action_workflow(record.id, service, action, [info.id for info in targets], values, declared.parameters))
    log.info("%s: queued action %s on %d containers of %s", describe(record.id), action, len(targets), service)
    return record


def check_email(email: Any) -> str | None:
    """Return ``email`` if it looks like one address, else raise InvalidInput."""
    if email is None or email == "":
        return None
    if (
        not isinstance(email, str)
        or len(email) > MAX_EMAIL_LENGTH
        or email.count("@") != 1
        or any(char.isspace() or char in ",;<>" for char in email)
        or not all(email.split("@"))
    ):
        raise InvalidInput(f"email must be one address such as qa@example.com, got {email!r}", field="email")
    return email


def _submit_targets(verb: str, owner: str, containers: Iterable[ContainerInfo | str] | None, service: str | None, email: str | None, store: JobStore | None) -> JobRecord:
    email = check_email(email)
    if service is not None:
        get_catalog().get(service)
    targets = _resolve(owner, containers, service)
    store = store or JobStore()
    record = store.create(owner, service, verb, {"containers": [info.id for info in targets]}, email=email)
    _send(store, record, canvas.targets_workflow(record.id, verb, [info.id for info in targets]))
    log.info("%s: queued %s of %d containers for %s", describe(record.id), verb, len(targets), owner)
    return record


def _resolve(owner: str, containers: Iterable[ContainerInfo | str] | None, service: str | None = None) -> list[ContainerInfo]:
    """Return the owner's target containers; an id of another owner raises NotFound like a missing one."""
    runtime = get_runtime()
    if containers is None:
        return sorted(runtime.list(owner=owner, service=service), key=lambda info: (info.service, info.replica))

    targets = []
    for item in containers:
        info = item if isinstance(item, ContainerInfo) else runtime.info(item)
        if info.owner != owner:
            raise NotFound(f"container {item if isinstance(item, str) else info.id} does not exist", field="container")
        if service is not None and info.service != service:
            raise NotFound(f"container {info.name} is not a container of service {service!r}", field="container")
        targets.append(info)
    return targets


def _send(store: JobStore, record: JobRecord, workflow: Signature) -> None:
    """Send the canvas; when the broker does not take it, fail the job and raise EngineUnavailable."""
    try:
        workflow.apply_async()
    except Exception as exc:
        log.error("%s: cannot send the workflow to the broker: %s", describe(record.id), exc)
        store.fail(record.id, f"the broker did not accept the job: {exc}", code="engine_unavailable")
        raise EngineUnavailable("the job queue is unavailable; try again in a minute", job_id=record.id) from exc


def _remove_quietly(path: str) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        log.warning("cannot remove staged file %s: %s", path, exc)
