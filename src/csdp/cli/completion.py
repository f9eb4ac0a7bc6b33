"""Shell completion: small bash and zsh scripts that ask ``csdp __complete`` for candidates.

Candidates come from the cached catalog, so completing sends a request to
the API only when the cache is missing or stale.
"""

from __future__ import annotations

from csdp.cli.service_parser import action_names

GENERAL_COMMANDS = {
    "login": [],
    "services": [],
    "jobs": [],
    "schedules": ["list", "cancel"],
    "all": ["show", "delete"],
    "completion": ["bash", "zsh"],
    "engine": ["up"],
    "images": ["build"],
    "admin": ["user"],
    "server": ["api", "worker"],
}
JOB_OPTIONS = ["--json", "--no-wait", "--timeout"]
ACTION_OPTIONS = {
    "show": ["--json", "--all-users"],
    "start": ["-n", "--num", "-p", "--param", "--ttl", "--email", *JOB_OPTIONS],
    "stop": ["--container", *JOB_OPTIONS],
    "restart": ["--container", *JOB_OPTIONS],
    "delete": ["--container", *JOB_OPTIONS],
    "monitor": ["--container", "--follow", "--clear", "--since", "--until", "--tail", "--json"],
    "files": ["upload", "download"],
    "exec": ["--container", "--timeout", "--workdir", "--env", "--json", "--"],
    "schedule": ["--at", "--cron", "--action", "-p", "--param", "-P", "--param-file", "--email", "--json"],
}

BASH = """\
_csdp_complete() {
    local cur="${COMP_WORDS[COMP_CWORD]}"
    local IFS=$'\\n'
    COMPREPLY=($(compgen -W "$(csdp __complete "${COMP_WORDS[@]:1:COMP_CWORD-1}" 2>/dev/null)" -- "$cur"))
}
complete -o default -F _csdp_complete csdp
"""

ZSH = """\
#compdef csdp
_csdp() {
    local -a candidates
    candidates=(${(f)"$(csdp __complete ${words[2,CURRENT-1]} 2>/dev/null)"})
    compadd -a candidates
}
compdef _csdp csdp
"""


def script(shell: str) -> str:
    return BASH if shell == "bash" else ZSH


def candidates(words: list[str], services: list[dict]) -> list[str]:
    """Return the words that may follow ``words`` on a ``csdp`` command line."""
    by_name = {service["name"]: service for service in services}
    if not words:
        return sorted(GENERAL_COMMANDS) + sorted(by_name)
    first = words[0]
    if first in GENERAL_COMMANDS:
        return GENERAL_COMMANDS[first] if len(words) == 1 else []
    service = by_name.get(first)
    if service is None:
        return []
    actions = {action["name"]: action for action in service.get("actions", [])}
    if len(words) == 1:
        return action_names(service)
    action = words[1]
    if action not in action_names(service):
        return []
    if words[-1] in ("-p", "--param"):
        declared = service.get("parameters", []) if action == "start" else actions.get(action, {}).get("parameters", [])
        return [f"{parameter['name']}=" for parameter in declared]
    if action in actions:
        return ["--container", "-p", "--param", "--email", *JOB_OPTIONS]
    return ACTION_OPTIONS.get(action, [])
