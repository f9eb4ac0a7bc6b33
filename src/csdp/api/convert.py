"""Turn runtime and catalog objects into wire models."""

from __future__ import annotations

from fastapi import Request

from csdp.catalog import Parameter, Service
from csdp.runtime.base import ContainerInfo
from csdp.wire import ActionOut, ContainerOut, JobAccepted, JobRecord, ParameterOut, PortOut, ServiceOut


def container_out(info: ContainerInfo) -> ContainerOut:
    return ContainerOut(
        id=info.id,
        name=info.name,
        service=info.service,
        owner=info.owner,
        job_id=info.job_id,
        replica=info.replica,
        ip_address=info.ip_address,
        ipv6_address=info.ipv6_address,
        service_port=info.service_port,
        ports=[PortOut(port=port.port, protocol=port.protocol, description=port.description) for port in info.ports],
        status=info.status,
        created=info.created,
        expires_at=info.expires_at,
    )


def parameter_out(parameter: Parameter) -> ParameterOut:
    # A secret's default is never shown.
    default = None if parameter.type == "secret" else parameter.default
    return ParameterOut(
        name=parameter.name,
        type=parameter.type,
        help=parameter.help,
        default=default,
        required=parameter.required,
        minimum=parameter.minimum,
        maximum=parameter.maximum,
        choices=parameter.choices,
    )


def service_out(service: Service) -> ServiceOut:
    manifest = service.manifest
    return ServiceOut(
        name=manifest.name,
        summary=manifest.summary,
        description=manifest.description,
        ports=[PortOut(port=port.port, protocol=port.protocol, description=port.description) for port in manifest.ports],
        parameters=[parameter_out(parameter) for parameter in manifest.parameters],
        actions=[
            ActionOut(
                name=action.name,
                help=action.help,
                parameters=[parameter_out(parameter) for parameter in action.parameters],
                output=action.output,
            )
            for action in manifest.actions
        ],
        max_replicas=manifest.limits.max_replicas,
    )


def job_accepted(request: Request, record: JobRecord) -> JobAccepted:
    """Return the 202 body of a submitted job, with absolute URLs of its record and its events."""
    return JobAccepted(
        job_id=record.id,
        state=record.state,
        status_url=str(request.url_for("get_job", job_id=record.id)),
        events_url=str(request.url_for("job_events", job_id=record.id)),
    )
