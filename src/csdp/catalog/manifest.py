"""The service manifest (``service.yaml``): what a service is and how to run it.

A service is a folder holding this manifest, a Dockerfile and its files.
Publishing a service means adding a folder; platform code never names one.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

NAME_PATTERN = r"^[a-z][a-z0-9_]{0,30}$"
MEMORY_PATTERN = r"^[1-9][0-9]*[kmg]$"


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Port(StrictModel):
    """A port the service listens on inside its container."""

    port: int = Field(ge=1, le=65535)
    protocol: Literal["tcp", "udp"] = "tcp"
    description: str


class EnvTarget(StrictModel):
    """The parameter reaches the container as an environment variable."""

    env: str = Field(pattern=r"^[A-Z_][A-Z0-9_]*$")


class TemplateTarget(StrictModel):
    """The parameter is used when rendering a config file template into the container."""

    template: str = Field(description="Jinja2 template file in the service folder.")
    path: str = Field(pattern=r"^/", description="Absolute path of the rendered file in the container.")


class Parameter(StrictModel):
    """A typed, bounded value a user may set when starting a service or running an action."""

    name: str = Field(pattern=NAME_PATTERN)
    type: Literal["string", "integer", "boolean", "choice", "secret"] = "string"
    help: str
    default: Any = None
    required: bool = False
    minimum: int | None = None
    maximum: int | None = None
    max_length: int | None = Field(None, ge=1)
    pattern: str | None = None
    choices: list[str] | None = None
    env: str | None = Field(None, pattern=r"^[A-Z_][A-Z0-9_]*$", description="Environment variable it is passed in.")

    @model_validator(mode="after")
    def _check_consistency(self) -> Parameter:
        if self.type == "choice" and not self.choices:
            raise ValueError(f"parameter {self.name!r} has type choice: list its values under 'choices'")
        if self.pattern is not None:
            re.compile(self.pattern)
        if self.required and self.default is not None:
            raise ValueError(f"parameter {self.name!r} is required and has a default: keep one of the two")
        return self


class Readiness(StrictModel):
    """How the platform knows a started container is ready to serve."""

    kind: Literal["port", "exec", "log", "none"] = "port"
    port: int | None = Field(None, ge=1, le=65535)
    protocol: Literal["tcp", "udp"] = "tcp"
    command: list[str] | None = None
    pattern: str | None = Field(None, description="Regular expression to wait for in the container output.")
    timeout_seconds: float = Field(30, gt=0, le=600)

    @model_validator(mode="after")
    def _check_kind(self) -> Readiness:
        if self.kind == "port" and self.port is None:
            raise ValueError("readiness kind 'port' needs 'port'")
        if self.kind == "exec" and not self.command:
            raise ValueError("readiness kind 'exec' needs 'command', a list of strings")
        if self.kind == "log" and not self.pattern:
            raise ValueError("readiness kind 'log' needs 'pattern', a regular expression")
        return self


class Resources(StrictModel):
    memory: str = Field("256m", pattern=MEMORY_PATTERN, description="Memory limit such as 128m or 1g.")
    pids: int = Field(256, ge=16, le=65536)
    shm_size: str | None = Field(None, pattern=MEMORY_PATTERN, description="Size of /dev/shm such as 1g.")


class Limits(StrictModel):
    max_replicas: int = Field(10, ge=1, le=1000)


class Action(StrictModel):
    """A service-specific action, run as a command inside each target container.

    Items of ``command`` may hold ``{name}`` placeholders for the action's
    parameters; each placeholder becomes exactly one argument, never a shell string.
    """

    name: str = Field(pattern=NAME_PATTERN)
    help: str
    command: list[str] = Field(min_length=1)
    parameters: list[Parameter] = Field(default_factory=list)
    output: Literal["text", "json", "jsonl"] = "text"
    timeout_seconds: float = Field(60, gt=0, le=3600)


class Manifest(StrictModel):
    """The whole ``service.yaml`` of one service."""

    name: str = Field(pattern=NAME_PATTERN)
    summary: str = Field(min_length=1, max_length=200)
    description: str = ""
    image: str | None = Field(None, description="Image name; default is the platform prefix plus the service name.")
    ports: list[Port] = Field(default_factory=list)
    parameters: list[Parameter] = Field(default_factory=list)
    templates: list[TemplateTarget] = Field(default_factory=list)
    limits: Limits = Limits()
    resources: Resources = Resources()
    capabilities: list[str] = Field(default_factory=list, description="Linux capabilities added to an otherwise empty set.")
    readiness: Readiness = Readiness(kind="none")
    actions: list[Action] = Field(default_factory=list)
    command: list[str] | None = None
    depends_on: list[str] = Field(default_factory=list)
    build: Literal["required", "optional"] = Field(
        "required",
        description="optional: a failed build while building all services is reported as skipped, "
        "for services that need a file the operator supplies.",
    )

    @field_validator("capabilities")
    @classmethod
    def _check_capabilities(cls, values: list[str]) -> list[str]:
        forbidden = {"SYS_ADMIN", "SYS_MODULE", "SYS_RAWIO", "SYS_PTRACE", "SYS_TIME", "NET_ADMIN", "ALL"}
        for value in values:
            if not re.fullmatch(r"[A-Z_]+", value):
                raise ValueError(f"capability {value!r} is not a Linux capability name such as NET_BIND_SERVICE")
            if value in forbidden:
                raise ValueError(f"capability {value!r} is not allowed for service containers; remove it")
        return values

    @model_validator(mode="after")
    def _check_names_unique(self) -> Manifest:
        for kind, items in (("parameter", self.parameters), ("action", self.actions)):
            seen: set[str] = set()
            for item in items:
                if item.name in seen:
                    raise ValueError(f"{kind} {item.name!r} is declared twice; rename or remove one")
                seen.add(item.name)
        common = {"show", "start", "stop", "restart", "delete", "monitor", "files", "exec"}
        for action in self.actions:
            if action.name in common:
                raise ValueError(f"action {action.name!r} clashes with a common action; choose another name")
        return self

    def image_name(self, prefix: str) -> str:
        """Return the image to run, such as ``csdp/syslog``."""
        return self.image or f"{prefix}{self.name}"

    def parameter(self, name: str) -> Parameter | None:
        return next((item for item in self.parameters if item.name == name), None)

    def action(self, name: str) -> Action | None:
        return next((item for item in self.actions if item.name == name), None)
