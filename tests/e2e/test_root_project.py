"""The root project as a user's engine runs it: plugin acquisition left on, and no download attempted.

Pulumi's language host reports every installed ``pulumi-*`` package as a required plugin, and the engine then
downloads what it lacks. The root project's environment must hold no such package (pulumi-aws lives in its
example's own venv), so a preview with acquisition on never tries: downloads are pointed at a dead address,
where any attempt fails; the engine only logs that and goes on, so the test reads its log.
"""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

from stackfox_provider.engine import LocalEngine
from stackfox_sandbox.testing import SandboxHandle
from tests.e2e.support import sandbox_config

ROOT = Path(__file__).resolve().parents[2]
#: Where every plugin download goes: nothing listens on port 9 (discard) of the loopback address.
DEAD_DOWNLOADS = "PULUMI_PLUGIN_DOWNLOAD_URL_OVERRIDES"


def test_the_root_projects_preview_with_plugin_acquisition_on_downloads_nothing(
    engine: LocalEngine, sandbox: SandboxHandle, tmp_path: Path
) -> None:
    stack = f"acquisition-{uuid.uuid4().hex[:6]}"
    config_file = tmp_path / f"Pulumi.{stack}.yaml"  # the checkout gets no stack file
    env = engine.process_env()
    env.pop("PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION")
    env[DEAD_DOWNLOADS] = ".*=http://127.0.0.1:9/"
    home = engine.backend.pulumi_home
    assert home is not None, "the test engine keeps its own PULUMI_HOME"
    home.mkdir(parents=True, exist_ok=True)

    def pulumi(*args: str) -> subprocess.CompletedProcess[str]:
        command = [str(engine.toolchain.pulumi), *args, "--stack", stack, "--config-file", str(config_file)]
        return subprocess.run(
            command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=600
        )

    created = subprocess.run(
        [str(engine.toolchain.pulumi), "stack", "init", stack], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert created.returncode == 0, created.stderr
    plain, secret = sandbox_config(sandbox)
    pairs = [arg for key, value in plain.items() for arg in ("--plaintext", f"{key}={value}")]
    pairs += [arg for key, value in secret.items() for arg in ("--secret", f"{key}={value}")]
    assert pulumi("config", "set-all", *pairs).returncode == 0

    # A failed download only shows in the engine's log (the preview goes on), so read the log.
    preview = pulumi("preview", "--non-interactive", "--logtostderr", "-v=8")

    assert preview.returncode == 0, preview.stdout + preview.stderr[-4000:]
    assert "to create" in preview.stdout
    attempts = [line for line in preview.stderr.splitlines() if "installPlugin(" in line or "doing install" in line]
    assert attempts == []
    plugins = home / "plugins"
    assert not plugins.exists() or not any(plugins.iterdir()), sorted(path.name for path in plugins.iterdir())
