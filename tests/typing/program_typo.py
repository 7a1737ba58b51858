"""Misspelt nested keys and wrong value types, each of which mypy --strict refuses.

Never run, deliberately wrong, and left out of `make typecheck`: tests/unit/resources/test_typed_inputs.py
checks that each line marked with an ``error:`` comment gets a mypy error containing its text, and no
other line any error.
"""

from stackfox_provider.incidentfox import McpServer, TeamConfig
from stackfox_provider.stackflow import IncidentCategory

IncidentCategory(
    "network",
    name="network",
    label="Network",
    subcategories=[
        {"nmae": "dns", "label": "DNS"},  # error: Extra key "nmae" for TypedDict "SubcategoryArgs"
        {"name": "vpn", "label": 42},  # error: expression has type "int", TypedDict item "label"
    ],
    default_priority="P5",  # error: Argument "default_priority" to "IncidentCategory" has incompatible type
)

TeamConfig(
    "payments",
    agents={
        "planner": {"model": {"temprature": 0.1}},  # error: Extra key "temprature" for TypedDict "AgentModelArgs"
        "investigation": {"max_turn": 12},  # error: Extra key "max_turn" for TypedDict "AgentArgs"
        "writeup": {"enabled": "yes"},  # error: expression has type "str", TypedDict item "enabled"
    },
    # A TypedDict that is a whole argument sits in a union (Input[...] | None): mypy names the argument, not the key.
    routing={"slack_channels": ["C0PAYMENTS"]},  # error: Argument "routing" to "TeamConfig" has incompatible type
)

McpServer("github", server_id="github", command="npx", type="stdoi")  # error: Argument "type" to "McpServer"
