"""StackFlow categories authenticated through a Cognito user pool that this stack also manages.

The pool, its app client and its domain come from pulumi-aws; their ids flow straight into each
category's ``connection``. The service user's password stays in secret stack config
(``pulumi config set --secret stackfox:stackflowPassword ...``), never in the program.
"""

import pulumi
import pulumi_aws as aws

from stackfox_provider.stackflow import IncidentCategory, Priority, StackFlowConnectionArgs, SubcategoryArgs

config = pulumi.Config()
region = aws.get_region_output().region

pool = aws.cognito.UserPool(
    "stackflow",
    username_attributes=["email"],
    auto_verified_attributes=["email"],
)
cli_client = aws.cognito.UserPoolClient(
    "stackflow-cli",
    user_pool_id=pool.id,
    generate_secret=False,
    explicit_auth_flows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
)
domain = aws.cognito.UserPoolDomain("stackflow", domain=config.require("cognitoDomain"), user_pool_id=pool.id)

connection: StackFlowConnectionArgs = {
    "url": config.require("stackflowUrl"),
    "user_pool_id": pool.id,
    "client_id": cli_client.id,
    "region": region,
    "token_url": pulumi.Output.format("https://{0}.auth.{1}.amazoncognito.com/oauth2/token", domain.domain, region),
}

CATEGORIES: list[tuple[str, str, Priority, list[SubcategoryArgs]]] = [
    ("network", "Network", "P2", [{"name": "dns", "label": "DNS"}, {"name": "vpn", "label": "VPN"}]),
    ("database", "Database", "P1", [{"name": "replication", "label": "Replication"}]),
]
categories = [
    IncidentCategory(
        f"category-{name}",
        name=name,
        label=label,
        default_priority=priority,
        subcategories=subcategories,
        connection=connection,
    )
    for name, label, priority, subcategories in CATEGORIES
]

pulumi.export("user_pool_id", pool.id)
pulumi.export("categories", [category.id for category in categories])
