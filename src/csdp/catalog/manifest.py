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
    # owner_address: names, ids or addresses of the caller's own containers,
    # given as a list or one comma-separated string. The platform resolves
    # them to addresses at submission and rejects any other value.
    type: Literal["string", "integer", "boolean", "choice", "secret", "owner_address"] = "string"
    help: str
    default: Any = None
    required: bool = False
    minimum: int | None = None
    maximum: int | None = None
    max_length: int | None = Field(None, ge=1)
    pattern: str | None = None
    choices: list[str] | None = None
    max_items: int | None = Field(None, ge=1, le=256, description="Largest number of items of an owner_address list.")
    env: str | None = Field(None, pattern=r"^[A-Z_][A-Z0-9_]*$", description="Environment variable it is passed in.")

    @model_validator(mode="after")
    def _check_consistency(self) -> Parameter:
        if self.type == "choice" and not self.choices:
            raise ValueError(f"parameter {self.name!r} has type choice: list its values under 'choices'")
        if self.pattern is not None:
            re.compile(self.pattern)
        if self.required and self.default is not None:
            raise ValueError(f"parameter {self.name!r} is required and has a default: keep one of the two")
        if self.max_items is not None and self.type != "owner_address":
            raise ValueError(f"parameter {self.name!r} has max_items, which only an owner_address parameter takes")
        return self


class OwnerInventory(StrictModel):
    """A file of the owner's containers that the platform keeps current in each container of the service.

    After every job that starts, stops, restarts or removes containers of an
    owner, the platform writes a JSON list of that owner's running containers
    (``name``, ``service``, ``ip_address``, ``ipv6_address``) to ``path`` and
    then runs ``reload``. Containers of other owners are never listed.
    """

    path: str = Field(pattern=r"^/[A-Za-z0-9_./-]+$", description="Absolute path of the JSON file; its directory must exist in the image.")
    reload: list[str] | None = Field(None, min_length=1, description="Command run after each write, such as a zone reload.")
    timeout_seconds: float = Field(30, gt=0, le=600)

    @field_validator("path")
    @classmethod
    def _check_path(cls, value: str) -> str:
        if ".." in value.split("/") or value.endswith("/"):
            raise ValueError(f"owner_inventory path {value!r} must name a file by an absolute path without '..'")
        return value


class Readiness(StrictModel):
    """Readiness check: how the platform decides that a started container is ready to serve."""

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
    owner_inventory: OwnerInventory | None = None
    include: list[str] = Field(
        default_factory=list,
        description="Files or folders shared by several services, relative to the folder that holds the "
        "service folders (such as _shared/otp); the image build adds them to the build context at that path.",
    )
    python_wheels: list[str] = Field(
        default_factory=list,
        description="Python requirements, such as 'pytest>=8,<9', that the image build collects with 'pip wheel' "
        "on the build host into wheels/ of the build context, so the Dockerfile installs them without a package index.",
    )
    inject_client: bool = Field(
        False,
        description="Write the csdp client package into /opt/csdp/lib of each container when it is created; "
        "the image puts that folder on Python's import path.",
    )
    inject_owner_token: bool = Field(
        False,
        description="Write a csdp client config with the API URL and a token of the owner into each container "
        "(XDG_CONFIG_HOME=/run/csdp/config); the token is valid only while the container exists and is never an admin's.",
    )
    build: Literal["required", "optional"] = Field(
        "required",
        description="optional: a failed build while building all services is reported as skipped, "
        "for services that need a file the operator supplies.",
    )
    version_package: str | None = Field(
        None,
        pattern=r"^[a-z0-9][a-z0-9+.-]+$",
        description="Debian package whose version names the image, such as chromium; the periodic image refresh "
        "rebuilds the image when Debian has a newer version and tags it by that version.",
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

    @field_validator("include")
    @classmethod
    def _check_include(cls, values: list[str]) -> list[str]:
        for value in values:
            parts = value.split("/")
            if value.startswith("/") or ".." in parts or not re.fullmatch(r"[A-Za-z0-9_./-]+", value):
                raise ValueError(
                    f"include {value!r} must be a relative path inside the catalog folder, such as _shared/otp"
                )
        return values

    @model_validator(mode="after")
    def _check_names_unique(self) -> Manifest:
        for kind, items in (("parameter", self.parameters), ("action", self.actions)):
            seen: set[str] = set()
            for item in items:
                if item.name in seen:
                    raise ValueError(f"{kind} {item.name!r} is declared twice; rename or remove one")
                seen.add(item.name)
        # Start parameters become environment variables before any container
        # exists, so container addresses can only be parameters of actions.
        for parameter in self.parameters:
            if parameter.type == "owner_address":
                raise ValueError(f"parameter {parameter.name!r}: owner_address is allowed only for action parameters")
        common = {"show", "start", "stop", "restart", "delete", "monitor", "files", "exec", "schedule"}
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
