"""Server settings, read once from ``CSDP_*`` environment variables.

Only the server side (runtime, workflows, api) reads these; the client has its
own small config in ``csdp.client.config``.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every setting of the platform, with its unit and purpose in its description."""

    model_config = SettingsConfigDict(env_prefix="CSDP_", extra="ignore")

    # Container engine and service network.
    docker_host: str | None = Field(
        None, description="Docker engine URL; unset means DOCKER_HOST or the default socket."
    )
    deployment: str = Field(
        "default",
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
        description="Name of this deployment, written on its containers, so deployments sharing one engine see only their own.",
    )
    network_name: str = Field("csdp-services", description="Name of the network service containers join.")
    network_driver: Literal["bridge", "macvlan"] = Field(
        "bridge", description="bridge for one host; macvlan gives containers addresses on a real LAN."
    )
    macvlan_parent: str | None = Field(
        None, description="Host interface the macvlan network attaches to; required with macvlan."
    )
    subnet_v4: str = Field("10.213.0.0/16", description="IPv4 subnet of the service network.")
    gateway_v4: str | None = Field(None, description="IPv4 gateway; unset lets the engine choose.")
    subnet_v6: str = Field("fd5c:5d9e:1::/64", description="IPv6 subnet of the service network.")
    gateway_v6: str | None = Field(None, description="IPv6 gateway; unset lets the engine choose.")
    image_prefix: str = Field("csdp/", description="Prefix of service image names, such as csdp/syslog.")
    base_image: str = Field("csdp/debian:bookworm", description="Base image that service Dockerfiles build FROM.")
    debian_mirror: str = Field("http://deb.debian.org/debian", description="Mirror debootstrap uses for the base image.")
    services_path: list[Path] = Field(
        default_factory=list,
        description="Extra folders of service definitions, searched after the built-in catalog.",
    )

    # Broker, result backend and database.
    broker_url: str = Field("amqp://guest:guest@127.0.0.1:5672//", description="RabbitMQ URL for Celery and results.")
    redis_url: str = Field("redis://127.0.0.1:6379/0", description="Redis URL: result backend and platform database.")
    results_exchange: str = Field("csdp.results", description="Durable topic exchange that finished jobs are published to.")
    result_ttl_seconds: int = Field(86400, ge=60, description="Lifetime of Celery results in Redis, in seconds.")
    job_ttl_seconds: int = Field(7 * 86400, ge=60, description="Lifetime of job records in Redis, in seconds.")
    task_time_limit_seconds: int = Field(600, ge=10, description="Hard time limit of one task, in seconds.")
    worker_concurrency: int = Field(8, ge=1, le=64, description="Threads per worker for Docker calls; starts among them are bounded by start_concurrency.")
    start_concurrency: int = Field(
        4,
        ge=1,
        le=64,
        description="Most container starts one worker runs at once; other steps use the remaining threads meanwhile.",
    )
    queue_prefix: str = Field(
        "", description="Prefix of the Celery queue names realtime and scheduled, so deployments can share a broker."
    )
    housekeeping_interval_seconds: int = Field(
        60, ge=5, description="Period of the housekeeping run that removes expired and orphaned containers, in seconds."
    )
    image_refresh_interval_seconds: int = Field(
        86400,
        ge=60,
        description="Period of the task that rebuilds service images with a version_package when Debian has a newer version, in seconds.",
    )
    stuck_job_grace_seconds: int = Field(
        900, ge=10, description="A running job without progress for this long and without a live task fails as worker lost."
    )
    fail_step: str | None = Field(
        None,
        pattern=r"^[a-z_]+:[0-9]+$",
        description="Testing only: '<step>:<replica>', such as 'connect:1', makes that workflow step fail for that replica.",
    )

    # Files.
    staging_dir: Path = Field(Path("/var/lib/csdp/staging"), description="Folder shared by API and workers for uploads.")
    max_upload_bytes: int = Field(200 * 1024 * 1024, ge=1, description="Largest upload accepted, in bytes.")
    max_request_bytes: int = Field(
        1024 * 1024, ge=1024, description="Largest request body of every route but file upload, in bytes; larger is 413."
    )

    # Limits applied to every user unless set per user.
    max_containers_per_user: int = Field(30, ge=1, description="Most containers one user may own at once.")
    max_replicas_per_request: int = Field(30, ge=1, description="Most replicas one start request may ask for.")
    default_ttl_seconds: int = Field(4 * 3600, ge=60, description="Lifetime of a container when the request gives none.")
    max_ttl_seconds: int = Field(24 * 3600, ge=60, description="Maximum lifetime of a container that a request may set, in seconds.")
    exec_timeout_seconds: int = Field(60, ge=1, description="Default time limit of exec, in seconds.")
    max_exec_output_bytes: int = Field(
        1024 * 1024, ge=1, description="Most bytes of each of stdout and stderr kept from one exec or action; the rest is dropped."
    )
    max_unpacked_bytes: int = Field(
        1024 * 1024 * 1024, ge=1, description="Largest total size of the files in one uploaded archive, unpacked, in bytes."
    )

    # E-mail for job results.
    smtp_host: str | None = Field(None, description="SMTP server for result e-mail; unset turns e-mail off.")
    smtp_port: int = Field(25, ge=1, le=65535, description="SMTP server port.")
    smtp_from: str = Field("csdp@localhost", description="Sender address of result e-mail.")

    # API.
    public_url: str = Field("http://127.0.0.1:8000", description="URL clients use to reach the API.")
    container_api_url: str | None = Field(
        None,
        description="URL containers of services with inject_owner_token use to reach the API, such as "
        "http://10.213.0.1:8000 on the service network; unset uses public_url.",
    )

    # Schedules of actions, kept in Redis and dispatched by beat.
    schedule_interval_seconds: float = Field(
        5.0, ge=0.5, le=60, description="Period of the beat task that starts due schedules, in seconds; a run starts at most this late."
    )
    max_schedules_per_user: int = Field(100, ge=1, description="Most schedules one user may have at once.")

    # Logging of the API, workers and beat.
    log_format: Literal["text", "json"] = Field(
        "text", description="text leaves logging to the server that runs the process; json writes one JSON object per line."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="Lowest level that is logged.")

    @field_validator("subnet_v4", "subnet_v6")
    @classmethod
    def _check_subnet(cls, value: str) -> str:
        try:
            ipaddress.ip_network(value)
        except ValueError as exc:
            raise ValueError(f"invalid subnet {value!r}: give it in CIDR form such as 10.213.0.0/16 ({exc})") from exc
        return value

    @model_validator(mode="after")
    def _check_macvlan(self) -> Settings:
        if self.network_driver == "macvlan" and not self.macvlan_parent:
            raise ValueError("CSDP_NETWORK_DRIVER=macvlan needs CSDP_MACVLAN_PARENT, the host interface to attach to")
        if self.default_ttl_seconds > self.max_ttl_seconds:
            raise ValueError(
                f"CSDP_DEFAULT_TTL_SECONDS={self.default_ttl_seconds} is above "
                f"CSDP_MAX_TTL_SECONDS={self.max_ttl_seconds}: lower the default or raise the maximum"
            )
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings, read from the environment on first use."""
    return Settings()
