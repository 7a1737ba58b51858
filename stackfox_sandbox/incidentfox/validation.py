"""What IncidentFox checks on a validated write, including the open-source service's crash cases."""

from __future__ import annotations

from typing import Any

from stackfox_sandbox.errors import ApiError, OssCrash
from stackfox_sandbox.settings import Dialect

IMMUTABLE_FIELDS = ("team_name", "org_id", "team_node_id")


def validate_effective(effective: dict[str, Any], dialect: Dialect) -> None:
    """Check a node's effective config after a merge; raise to refuse the write."""
    if dialect == "oss":
        _oss_crashes(effective)
    else:
        _hosted_shapes(effective)
    errors = dependency_errors(effective, dialect)
    if errors:
        message = "; ".join(errors)
        raise ApiError(
            400,
            message,
            code="validation_error",
            detail={"error": "dependency_validation_failed", "message": message},
        )


def _oss_crashes(effective: dict[str, Any]) -> None:
    """The open-source service iterates these without checking their type, and answers 500."""
    mcp_servers = effective.get("mcp_servers", {})
    if not isinstance(mcp_servers, dict):
        raise OssCrash(f"'{_type_name(mcp_servers)}' object has no attribute 'items'")
    for entry in mcp_servers.values():
        if not isinstance(entry, dict):
            raise OssCrash(f"'{_type_name(entry)}' object has no attribute 'get'")
    if not isinstance(effective.get("agents", {}), dict):
        raise OssCrash("agents is not an object", plain=True)


def _hosted_shapes(effective: dict[str, Any]) -> None:
    mcp_servers = effective.get("mcp_servers")
    is_names = isinstance(mcp_servers, list) and all(isinstance(name, str) for name in mcp_servers)
    if not (mcp_servers is None or isinstance(mcp_servers, dict) or is_names):
        raise ApiError(
            400, "mcp_servers must be an object or a list of names", field="mcp_servers", code="validation_error"
        )
    agents = effective.get("agents")
    if agents is not None and not isinstance(agents, dict):
        raise ApiError(400, "agents must be an object", field="agents", code="validation_error")


def _type_name(value: Any) -> str:
    return "NoneType" if value is None else type(value).__name__


def _enabled(entry: Any) -> bool:
    return isinstance(entry, dict) and entry.get("enabled", True) is not False


def _known_mcps(mcp_servers: Any) -> dict[str, bool]:
    if isinstance(mcp_servers, dict):
        return {str(key): _enabled(value) for key, value in mcp_servers.items() if value is not None}
    if isinstance(mcp_servers, list):
        return {str(name): True for name in mcp_servers}
    return {}


def _references(agent: dict[str, Any], key: str) -> list[str]:
    refs = agent.get(key)
    return [str(name) for name, on in refs.items() if on is True] if isinstance(refs, dict) else []


def _entrance_errors(entrance: Any, enabled_agents: set[str], dialect: Dialect) -> list[str]:
    """The open-source service refuses only an entrance agent that names a missing or disabled agent (a
    stored null is fine there); the hosted dialect also refuses a null one."""
    if entrance is None and dialect == "oss":
        return []
    if entrance in enabled_agents:
        return []
    return [f"entrance_agent {entrance!r} is missing or disabled"]


def dependency_errors(effective: dict[str, Any], dialect: Dialect = "hosted") -> list[str]:
    """References to missing or disabled agents, MCP servers and tools (``dialect`` decides whether a null
    ``entrance_agent`` is one)."""
    agents = effective.get("agents")
    agents = agents if isinstance(agents, dict) else {}
    enabled_agents = {str(name) for name, agent in agents.items() if _enabled(agent)}
    errors = _entrance_errors(effective.get("entrance_agent"), enabled_agents, dialect)
    mcps = _known_mcps(effective.get("mcp_servers"))
    tools = effective.get("tools")
    tools = tools if isinstance(tools, dict) else {}
    for name in sorted(enabled_agents):
        agent = agents[name]
        for mcp in _references(agent, "mcps"):
            if mcp not in mcps:
                errors.append(f"agent {name!r} references unknown MCP server {mcp!r}")
            elif not mcps[mcp]:
                errors.append(f"MCP server {mcp!r} is disabled but still referenced by agent {name!r}")
        for sub in _references(agent, "sub_agents"):
            if sub not in agents:
                errors.append(f"agent {name!r} references unknown sub-agent {sub!r}")
            elif sub not in enabled_agents:
                errors.append(f"sub-agent {sub!r} is disabled but still referenced by agent {name!r}")
        for tool in _references(agent, "tools"):
            if tools.get(tool) is False:
                errors.append(f"tool {tool!r} is disabled but still referenced by agent {name!r}")
    return errors


def check_immutable(patch: dict[str, Any], current: dict[str, Any]) -> None:
    """Hosted dialect: ``team_name``, ``org_id`` and ``team_node_id`` cannot change (400 ``invalid_field``)."""
    for name in IMMUTABLE_FIELDS:
        if name in patch and patch[name] != current.get(name):
            raise ApiError(400, f"{name} is immutable", code="invalid_field", field=name)
