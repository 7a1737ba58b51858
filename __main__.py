"""The root stackfox project: what `make up` applies.

For now it declares one file through stackfox's test resource, to prove the whole engine path
(CLI, language host, dynamic-provider plugin, file backend) on this machine. The IncidentFox team
setup and the StackFlow categories join it as their resources land.
"""

from pathlib import Path

import pulumi

from stackfox_provider.testing import LocalFile

config = pulumi.Config()
motd = LocalFile(
    "motd",
    path=str(Path(".stackfox", "motd.txt").resolve()),
    content=config.get("motd") or "stackfox is ready\n",
)
pulumi.export("motd_path", motd.path)
pulumi.export("motd_sha256", motd.sha256)
