"""Wire schemas: the JSON bodies of the REST API and of pushed results.

This is the only module the client shares with the server, so it imports
nothing but pydantic and the standard library.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

JobState = Literal["queued", "running", "succeeded", "failed"]
TERMINAL_STATES = ("succeeded", "failed")


class WireModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorBody(WireModel):
    """Body of every error response."""

    code: str
    message: str
    field: str | None = None
    details: dict[str, Any] | None = None


class PortOut(WireModel):
    port: int
    protocol: Literal["tcp", "udp"]
    description: str = ""


class ContainerOut(WireModel):
    id: str
    name: str
    service: str
    owner: str
    job_id: str
    replica: int
    ip_address: str | None
    ipv6_address: str | None
    service_port: int | None
    ports: list[PortOut]
    status: str
    created: datetime
    expires_at: datetime | None = None


class ParameterOut(WireModel):
    name: str
    type: str
    help: str
    default: Any = None
    required: bool = False
    minimum: int | None = None
    maximum: int | None = None
    choices: list[str] | None = None


class ActionOut(WireModel):
    name: str
    help: str
    parameters: list[ParameterOut]
    output: str


class ServiceOut(WireModel):
    name: str
    summary: str
    description: str = ""
    ports: list[PortOut]
    parameters: list[ParameterOut]
    actions: list[ActionOut]
    max_replicas: int


class StartRequest(WireModel):
    """Start ``num`` replicas. ``num`` must be a JSON integer: "3", 2.5 and null are rejected."""

    num: StrictInt = Field(description="Number of replicas, from 1 to the user's limit.")
    parameters: dict[str, Any] = Field(default_factory=dict, description="Service parameters by name.")
    ttl_seconds: StrictInt | None = Field(None, description="Lifetime of the containers; default from settings.")
    email: str | None = Field(None, description="Address that receives the job result by e-mail.")


class TargetRequest(WireModel):
    """Target of stop, restart and delete on a service: one container, or all of the service when absent or null.

    An empty string is rejected rather than read as "all", so a blank id never acts on every container.
    """

    container: str | None = Field(
        None, min_length=1, description="One container; all of the caller's containers of the service when absent or null."
    )


class ActionRequest(WireModel):
    container: str | None = Field(
        None, min_length=1, description="One container; all of the caller's containers of the service when absent or null."
    )
    parameters: dict[str, Any] = Field(default_factory=dict)
    email: str | None = None


class ExecRequest(WireModel):
    command: list[str] = Field(min_length=1, description="Program and arguments; no shell unless you run one.")
    timeout_seconds: StrictInt | None = Field(None, ge=1, le=3600)
    stream: bool = False
    workdir: str | None = None
    environment: dict[str, str] = Field(default_factory=dict)


class ExecResponse(WireModel):
    exit_code: int
    stdout: str
    stderr: str
    timed_out: bool = False
    truncated: bool = False


class JobAccepted(WireModel):
    job_id: str
    state: JobState
    status_url: str
    events_url: str


class StepProgress(WireModel):
    step: str
    replica: int | None = None
    state: Literal["running", "succeeded", "failed"]
    at: datetime


class JobRecord(WireModel):
    id: str
    owner: str
    service: str | None
    action: str
    parameters: dict[str, Any] = Field(default_factory=dict)
    state: JobState
    steps: list[StepProgress] = Field(default_factory=list)
    result: dict[str, Any] | None = None
    error: ErrorBody | None = None
    created: datetime
    started: datetime | None = None
    finished: datetime | None = None


class UserOut(WireModel):
    name: str
    admin: bool
    max_containers: int
    max_replicas_per_request: int


class UserCreated(UserOut):
    token: str
