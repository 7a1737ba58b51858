"""Seed data: IncidentFox system defaults (small but realistic) and the bootstrap org and team."""

from __future__ import annotations

from typing import Any


def _agent(name: str, description: str, system: str, tools: list[str], sub_agents: list[str]) -> dict[str, Any]:
    return {
        "enabled": True,
        "name": name,
        "description": description,
        "model": {"name": "gpt-4o", "temperature": 0.2, "max_tokens": 4096},
        "prompt": {"system": system, "prefix": "", "suffix": ""},
        "max_turns": 20,
        "tools": dict.fromkeys(tools, True),
        "sub_agents": dict.fromkeys(sub_agents, True),
        "mcps": {},
    }


SYSTEM_DEFAULTS: dict[str, Any] = {
    "entrance_agent": "planner",
    "agents": {
        "planner": _agent(
            "Planner",
            "Triages the alert and delegates to specialist agents.",
            "You are the incident planner. Decide which specialists to involve and in what order.",
            ["think"],
            ["investigation", "coding", "writeup"],
        ),
        "investigation": _agent(
            "Investigation",
            "Gathers evidence from logs, metrics and the cluster.",
            "You investigate production incidents. Form hypotheses and test them against evidence.",
            ["think", "kubectl_get", "query_logs", "query_metrics"],
            [],
        ),
        "coding": _agent(
            "Coding",
            "Reads code and proposes fixes.",
            "You read the relevant code and propose a minimal, safe fix.",
            ["think", "github_search"],
            [],
        ),
        "writeup": _agent(
            "Writeup",
            "Writes the summary and the postmortem draft.",
            "You write a concise incident summary with root cause and follow-ups.",
            ["think"],
            [],
        ),
    },
    "mcp_servers": {},
    "tools": {"think": True, "kubectl_get": True, "query_logs": True, "query_metrics": True, "github_search": True},
    "integrations": {},
    "output_config": {
        "default_destinations": [],
        "trigger_overrides": {},
        "formatting": {"style": "concise", "include_timeline": True},
    },
    "routing": {
        "slack_channel_ids": [],
        "incidentio_team_ids": [],
        "incidentio_alert_source_ids": [],
        "pagerduty_service_ids": [],
        "coralogix_team_names": [],
        "github_repos": [],
        "services": [],
    },
    "feature_flags": {"auto_investigate": False, "postmortem_drafts": True, "slack_thread_replies": True},
    "webhooks": {},
    "alerts": {"disabled": []},
    "notifications": {"on_start": False, "on_complete": True},
}

ORG_SEED: dict[str, Any] = {
    "$template_slug": "sre-default",
    "feature_flags": {"auto_investigate": True},
    "output_config": {"formatting": {"style": "detailed"}},
    "agents": {"planner": {"max_turns": 15, "model": {"temperature": 0.3}}},
}

ORG_ID = "sandbox-org"
ORG_NAME = "Sandbox Org"
TEAM_ID = "sandbox-team"
TEAM_NAME = "Sandbox Team"
TEAM_SEED: dict[str, Any] = {"team_name": TEAM_NAME}
