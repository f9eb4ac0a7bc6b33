"""``Client``: one method per REST route of the API, returning the JSON responses as dicts."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import quote

from csdp.client.config import DEFAULT_RESULTS_EXCHANGE, DEFAULT_TIMEOUT, ClientConfig, load_config
from csdp.client.errors import error_from_body
from csdp.client.transport import HttpTransport
from csdp.errors import InvalidInput

log = logging.getLogger(__name__)

JobCallback = Callable[[dict[str, Any]], None]

# Jobs such as starting 30 replicas take minutes; this bounds a wait=True call.
DEFAULT_WAIT_SECONDS = 600.0


class Client:
    """A csdp API client over HTTP, with pushed results over AMQP when ``amqp_url`` is given.

    Mutations return the job id, or with ``wait=True`` the finished job record
    (and raise ``JobFailed`` for a failed job). Error responses raise the
    ``csdp.errors`` class named by their code.
    """

    def __init__(
        self,
        url: str,
        token: str,
        *,
        amqp_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        wait_timeout: float = DEFAULT_WAIT_SECONDS,
        results_exchange: str = DEFAULT_RESULTS_EXCHANGE,
    ) -> None:
        self.http = HttpTransport(url, token, timeout=timeout)
        self.url = self.http.url
        self.amqp_url = amqp_url
        self.wait_timeout = wait_timeout
        self.results_exchange = results_exchange

    @classmethod
    def from_config(cls, config: ClientConfig | None = None, **options: Any) -> Client:
        """Build a client from the environment and the user config file."""
        config = config or load_config()
        return cls(
            config.url,
            config.token,
            amqp_url=config.amqp_url,
            timeout=config.timeout,
            results_exchange=config.results_exchange,
            **options,
        )

    # Catalog and containers.

    def health(self) -> dict[str, Any]:
        return self.http.request("GET", "/health").json()

    def services(self) -> list[dict[str, Any]]:
        return self.http.request("GET", "/services").json()

    def service(self, name: str) -> dict[str, Any]:
        return self.http.request("GET", f"/services/{_segment(name)}").json()

    def containers(self, service: str | None = None, *, all_users: bool = False) -> list[dict[str, Any]]:
        query = {"service": service, "all_users": True if all_users else None}
        return self.http.request("GET", "/containers", query=query).json()

    def show(self, service: str) -> list[dict[str, Any]]:
        """Return the caller's containers of ``service``."""
        return self.containers(service)

    def container(self, container_id: str) -> dict[str, Any]:
        return self.http.request("GET", f"/containers/{_segment(container_id)}").json()

    # Service jobs.

    def start(
        self,
        service: str,
        num: int = 1,
        parameters: dict[str, Any] | None = None,
        *,
        ttl_seconds: int | None = None,
        email: str | None = None,
        wait: bool = False,
        on_update: JobCallback | None = None,
    ) -> Any:
        body: dict[str, Any] = {"num": num, "parameters": parameters or {}}
        if ttl_seconds is not None:
            body["ttl_seconds"] = ttl_seconds
        if email is not None:
            body["email"] = email
        return self._submit("POST", f"/services/{_segment(service)}/start", body, wait, on_update)

    def stop(
        self, service: str, container: str | None = None, *, wait: bool = False, on_update: JobCallback | None = None
    ) -> Any:
        return self._submit(
            "POST", f"/services/{_segment(service)}/stop", {"container": _container(container)}, wait, on_update
        )

    def restart(
        self, service: str, container: str | None = None, *, wait: bool = False, on_update: JobCallback | None = None
    ) -> Any:
        return self._submit(
            "POST", f"/services/{_segment(service)}/restart", {"container": _container(container)}, wait, on_update
        )

    def delete(
        self, service: str, container: str | None = None, *, wait: bool = False, on_update: JobCallback | None = None
    ) -> Any:
        return self._submit(
            "POST", f"/services/{_segment(service)}/delete", {"container": _container(container)}, wait, on_update
        )

    def action(
        self,
        service: str,
        action: str,
        parameters: dict[str, Any] | None = None,
        *,
        container: str | None = None,
        email: str | None = None,
        wait: bool = False,
        on_update: JobCallback | None = None,
    ) -> Any:
        body: dict[str, Any] = {"container": _container(container), "parameters": parameters or {}}
        if email is not None:
            body["email"] = email
        return self._submit("POST", f"/services/{_segment(service)}/actions/{_segment(action)}", body, wait, on_update)

    # Container jobs.

    def stop_container(self, container_id: str, *, wait: bool = False, on_update: JobCallback | None = None) -> Any:
        return self._submit("POST", f"/containers/{_segment(container_id)}/stop", None, wait, on_update)

    def restart_container(self, container_id: str, *, wait: bool = False, on_update: JobCallback | None = None) -> Any:
        return self._submit("POST", f"/containers/{_segment(container_id)}/restart", None, wait, on_update)

    def delete_container(self, container_id: str, *, wait: bool = False, on_update: JobCallback | None = None) -> Any:
        return self._submit("DELETE", f"/containers/{_segment(container_id)}", None, wait, on_update)

    def delete_all(self, *, wait: bool = False, on_update: JobCallback | None = None) -> Any:
        """Delete every container the caller owns."""
        return self._submit("DELETE", "/containers", None, wait, on_update)

    # Logs, files and exec.

    def logs(
        self,
        container_id: str,
        *,
        follow: bool = False,
        since: str | None = None,
        until: str | None = None,
        tail: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Yield log entries ``{"stream", "timestamp", "text"}``; with follow, a last ``{"event": "end", ...}``."""
        query = {"follow": True if follow else None, "since": since, "until": until, "tail": tail}
        # A followed stream may be quiet for long: no read timeout then.
        response = self.http.request(
            "GET",
            f"/containers/{_segment(container_id)}/logs",
            query=query,
            timeout=None if follow else self.http.timeout,
        )
        yield from _ndjson_items(response.lines())

    def clear_logs(self, container_id: str) -> None:
        self.http.request("POST", f"/containers/{_segment(container_id)}/logs/clear").read()

    def upload(
        self,
        container_id: str,
        local_path: str | Path,
        directory: str,
        *,
        extract: bool = False,
        wait: bool = False,
        on_update: JobCallback | None = None,
    ) -> Any:
        """Upload a file into ``directory`` of the container; with ``extract``, a tar unpacked there."""
        from csdp.client.multipart import file_body

        headers, body = file_body(Path(local_path))
        query = {"path": directory, "extract": True if extract else None}
        accepted = self.http.request(
            "PUT", f"/containers/{_segment(container_id)}/files", query=query, body=body, headers=headers
        ).json()
        return self._after_submit(accepted, wait, on_update)

    def download(self, container_id: str, path: str) -> Iterator[bytes]:
        """Yield the chunks of a tar archive holding ``path``."""
        response = self.http.request(
            "GET",
            f"/containers/{_segment(container_id)}/files",
            query={"path": path},
            headers={"Accept": "application/x-tar"},
        )
        return response.chunks()

    def exec(
        self,
        container_id: str,
        command: list[str],
        *,
        timeout_seconds: int | None = None,
        workdir: str | None = None,
        environment: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """Run a command and return ``{"exit_code", "stdout", "stderr", "timed_out"}``."""
        body = _exec_body(command, timeout_seconds, workdir, environment, stream=False)
        return self.http.request(
            "POST",
            f"/containers/{_segment(container_id)}/exec",
            json_body=body,
            timeout=_exec_timeout(self, timeout_seconds),
        ).json()

    def exec_stream(
        self,
        container_id: str,
        command: list[str],
        *,
        timeout_seconds: int | None = None,
        workdir: str | None = None,
        environment: dict[str, str] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Yield ``{"stream", "data"}`` chunks as the command writes them, then ``{"event": "exit", ...}``."""
        body = _exec_body(command, timeout_seconds, workdir, environment, stream=True)
        response = self.http.request(
            "POST",
            f"/containers/{_segment(container_id)}/exec",
            json_body=body,
            timeout=_exec_timeout(self, timeout_seconds),
        )
        yield from _ndjson_items(response.lines())

    # Jobs.

    def jobs(self, limit: int | None = None) -> list[dict[str, Any]]:
        return self.http.request("GET", "/jobs", query={"limit": limit}).json()

    def job(self, job_id: str) -> dict[str, Any]:
        return self.http.request("GET", f"/jobs/{_segment(job_id)}").json()

    def job_events(self, job_id: str, *, timeout: float | None = None) -> Iterator[dict[str, Any]]:
        """Yield the job record each time it changes, from the API's server-sent events.

        With ``timeout``, the stream raises OperationTimeout that many seconds
        after it opened, even while the API keeps it alive with comments.
        """
        response = self.http.request(
            "GET", f"/jobs/{_segment(job_id)}/events", headers={"Accept": "text/event-stream"}, timeout=timeout
        )
        from csdp.client.sse import job_records, until

        lines = response.lines()
        if timeout is not None:
            lines = until(lines, time.monotonic() + timeout, f"the event stream of job {job_id}")
        yield from job_records(lines)

    def wait_for_job(
        self, job_id: str, *, timeout: float | None = None, on_update: JobCallback | None = None
    ) -> dict[str, Any]:
        """Return the record of a succeeded job; raise JobFailed, or WaitTimeout after ``timeout`` seconds."""
        from csdp.client.waiting import wait_for_job

        return wait_for_job(
            self,
            job_id,
            timeout=timeout or self.wait_timeout,
            amqp_url=self.amqp_url,
            exchange=self.results_exchange,
            on_update=on_update,
        )

    # Schedules.

    def schedule(
        self,
        service: str,
        action: str,
        parameters: dict[str, Any] | None = None,
        *,
        at: str | None = None,
        cron: str | None = None,
        email: str | None = None,
    ) -> dict[str, Any]:
        """Schedule an action once ``at`` (ISO 8601 with a timezone) or on ``cron`` (UTC); return the schedule."""
        body: dict[str, Any] = {"service": service, "action": action, "parameters": parameters or {}}
        for key, value in (("at", at), ("cron", cron), ("email", email)):
            if value is not None:
                body[key] = value
        return self.http.request("POST", "/schedules", json_body=body).json()

    def schedules(self) -> list[dict[str, Any]]:
        """Return the caller's schedules, the next to run first."""
        return self.http.request("GET", "/schedules").json()

    def cancel_schedule(self, schedule_id: str) -> None:
        self.http.request("DELETE", f"/schedules/{_segment(schedule_id)}").read()

    # Administration.

    def add_user(self, name: str, *, admin: bool = False) -> dict[str, Any]:
        """Create a user and return it with its token (admins only)."""
        return self.http.request("POST", "/admin/users", json_body={"name": name, "admin": admin}).json()

    def _submit(self, method: str, path: str, body: Any, wait: bool, on_update: JobCallback | None) -> Any:
        accepted = self.http.request(method, path, json_body=body).json()
        return self._after_submit(accepted, wait, on_update)

    def _after_submit(self, accepted: dict[str, Any], wait: bool, on_update: JobCallback | None) -> Any:
        job_id = accepted["job_id"]
        log.debug("job %s accepted", job_id)
        if not wait:
            return job_id
        return self.wait_for_job(job_id, on_update=on_update)


def _ndjson_items(lines: Iterator[bytes]) -> Iterator[dict[str, Any]]:
    """Yield the items of an ndjson stream; an error event raises its csdp error."""
    for line in lines:
        if not line.strip():
            continue
        item = json.loads(line)
        if item.get("event") == "error":
            raise error_from_body(item, status=500)
        yield item


def _segment(value: str) -> str:
    return quote(value, safe="")


def _container(container: str | None) -> str | None:
    # None means every container of the service, so an empty id, say from an
    # unset variable, must not silently widen the request to all of them.
    if container is not None and not container.strip():
        raise InvalidInput(
            "container is empty; give a container id or name, or pass container=None for all containers",
            field="container",
        )
    return container


def _exec_body(command, timeout_seconds, workdir, environment, *, stream: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"command": list(command), "stream": stream}
    if timeout_seconds is not None:
        body["timeout_seconds"] = timeout_seconds
    if workdir is not None:
        body["workdir"] = workdir
    if environment:
        body["environment"] = dict(environment)
    return body


def _exec_timeout(client: Client, timeout_seconds: int | None) -> float:
    # The API responds only when the command ends, so the read timeout must
    # outlast the command's own time limit.
    return max(client.http.timeout, (timeout_seconds or 60) + 10)
