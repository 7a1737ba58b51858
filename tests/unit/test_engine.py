"""The environment handed to the Pulumi CLI and the Automation API, and which backend holds the state."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stackfox_provider.backend import Backend, choose_backend
from stackfox_provider.engine import DEFAULT_PASSPHRASE, LocalEngine
from stackfox_provider.errors import StackfoxError
from stackfox_provider.toolchain import Toolchain, ToolchainError

TOOLCHAIN = Toolchain(Path("/opt/toolchain/bin"), "cache")
#: What pulumi reads to choose a backend (and stackfox with it); none of them is set in these tests unless given.
BACKEND_ENV = (
    "PULUMI_BACKEND_URL",
    "PULUMI_HOME",
    "PULUMI_CREDENTIALS_PATH",
    "PULUMI_ACCESS_TOKEN",
    "STACKFOX_STATE_DIR",
)


def engine(tmp_path: Path, passphrase: str | None = None) -> LocalEngine:
    return LocalEngine(TOOLCHAIN, Backend.local(tmp_path / "state"), Path("/venv/bin/python"), passphrase)


def user_engine(backend: Backend) -> LocalEngine:
    return LocalEngine(TOOLCHAIN, backend, Path("/venv/bin/python"))


def login(pulumi_home: Path, url: str) -> Path:
    """What `pulumi login URL` records."""
    pulumi_home.mkdir(parents=True, exist_ok=True)
    (pulumi_home / "credentials.json").write_text(json.dumps({"current": url, "accessTokens": {}}))
    return pulumi_home


def project(directory: Path, backend_url: str | None = None) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    backend = f"backend:\n  url: {backend_url}\n" if backend_url else ""
    (directory / "Pulumi.yaml").write_text(f"name: ops\nruntime: python\n{backend}")
    return directory


@pytest.fixture(autouse=True)
def nothing_chosen(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No backend chosen in the environment, and a home directory of our own (no ~/.pulumi/credentials.json)."""
    for name in BACKEND_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "user"))


def test_stackfox_s_own_backend_is_pinned_offline(tmp_path: Path) -> None:
    variables = engine(tmp_path).env_vars({"PATH": "/usr/bin"})

    assert variables == {
        "PULUMI_BACKEND_URL": f"file://{tmp_path / 'state'}",
        "PULUMI_HOME": str(tmp_path / "state" / "home"),
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        "PULUMI_PYTHON_CMD": "/venv/bin/python",
        "PATH": "/opt/toolchain/bin:/usr/bin",
        "PULUMI_CONFIG_PASSPHRASE": DEFAULT_PASSPHRASE,
    }


@pytest.mark.parametrize("variable", ["PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE"])
def test_a_passphrase_the_user_set_is_left_alone(tmp_path: Path, variable: str) -> None:
    variables = engine(tmp_path).env_vars({"PATH": "/usr/bin", variable: "theirs"})

    assert "PULUMI_CONFIG_PASSPHRASE" not in variables


def test_an_explicit_passphrase_wins(tmp_path: Path) -> None:
    variables = engine(tmp_path, passphrase="s3cret").env_vars({"PULUMI_CONFIG_PASSPHRASE": "theirs"})

    assert variables["PULUMI_CONFIG_PASSPHRASE"] == "s3cret"


def test_state_lives_where_the_file_backend_puts_it(tmp_path: Path) -> None:
    assert engine(tmp_path).state_file("proj", "dev") == tmp_path / "state" / ".pulumi" / "stacks" / "proj" / "dev.json"


def test_with_nothing_chosen_state_goes_to_the_project_and_says_so(tmp_path: Path) -> None:
    backend = LocalEngine.for_project(project(tmp_path / "p"), toolchain=TOOLCHAIN).backend

    assert backend == Backend.local(tmp_path / "p" / ".stackfox", backend.chosen_by)
    assert backend.pulumi_home == tmp_path / "p" / ".stackfox" / "home"
    assert backend.describe().startswith(f"stackfox: stack state in file://{tmp_path / 'p' / '.stackfox'} (")
    assert "no backend chosen" in backend.describe()


def test_with_nothing_chosen_a_pulumi_home_the_user_set_stays_theirs(tmp_path: Path) -> None:
    backend = choose_backend(project(tmp_path / "p"), environ={"PULUMI_HOME": str(tmp_path / "theirs")})

    assert backend.state_dir == tmp_path / "p" / ".stackfox"
    assert "PULUMI_HOME" not in user_engine(backend).env_vars({})


@pytest.mark.parametrize("where", ["PULUMI_HOME", "PULUMI_CREDENTIALS_PATH", "~/.pulumi"])
def test_after_pulumi_login_the_user_s_backend_is_used_and_left_to_pulumi(tmp_path: Path, where: str) -> None:
    home = login(tmp_path / "user" / ".pulumi" if where == "~/.pulumi" else tmp_path / "pulumi-home", "file:///x/y")
    environ = {} if where == "~/.pulumi" else {where: str(home)}

    backend = choose_backend(project(tmp_path / "p"), environ=environ)
    variables = user_engine(backend).env_vars({"PATH": "/usr/bin", **environ})

    assert (backend.url, backend.state_dir, backend.pulumi_home) == ("file:///x/y", None, None)
    assert backend.describe() == (
        f"stackfox: stack state in file:///x/y (`pulumi login`, recorded in {home / 'credentials.json'})"
    )
    assert not {"PULUMI_BACKEND_URL", "PULUMI_HOME", "PULUMI_CONFIG_PASSPHRASE"} & set(variables)
    assert variables["PATH"] == "/opt/toolchain/bin:/usr/bin", "the toolchain's host and plugin still come first"
    assert variables["PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION"] == "true"


def test_pulumi_s_order_env_then_pulumi_yaml_then_login_then_a_cloud_token(tmp_path: Path) -> None:
    home = login(tmp_path / "pulumi-home", "file:///from-login")
    environ = {"PULUMI_HOME": str(home), "PULUMI_ACCESS_TOKEN": "pul-x", "PULUMI_BACKEND_URL": "s3://from-env"}
    nested = project(tmp_path / "p", backend_url="gs://from-yaml") / "sub" / "dir"
    nested.mkdir(parents=True)

    assert choose_backend(nested, environ=environ).url == "s3://from-env"
    del environ["PULUMI_BACKEND_URL"]
    assert choose_backend(nested, environ=environ).chosen_by == f"backend.url in {tmp_path / 'p' / 'Pulumi.yaml'}"
    project(tmp_path / "p")
    assert choose_backend(nested, environ=environ).url == "file:///from-login"
    (home / "credentials.json").write_text("{}")
    assert choose_backend(nested, environ=environ) == Backend("https://api.pulumi.com", "PULUMI_ACCESS_TOKEN")


@pytest.mark.parametrize("explicit", ["--state-dir", "STACKFOX_STATE_DIR"])
def test_an_explicit_state_dir_wins_over_the_user_s_backend_as_before(tmp_path: Path, explicit: str) -> None:
    home = login(tmp_path / "pulumi-home", "file:///from-login")
    environ = {"PULUMI_HOME": str(home), "PULUMI_BACKEND_URL": "s3://from-env"}
    if explicit == "STACKFOX_STATE_DIR":
        environ[explicit] = str(tmp_path / "elsewhere")
    state_dir = tmp_path / "elsewhere" if explicit == "--state-dir" else None

    backend = choose_backend(project(tmp_path / "p"), state_dir, environ)
    variables = user_engine(backend).env_vars(environ)

    assert (backend.state_dir, backend.chosen_by) == (tmp_path / "elsewhere", explicit)
    assert variables["PULUMI_BACKEND_URL"] == f"file://{tmp_path / 'elsewhere'}"
    assert variables["PULUMI_HOME"] == str(tmp_path / "elsewhere" / "home")
    assert variables["PULUMI_CONFIG_PASSPHRASE"] == DEFAULT_PASSPHRASE


def test_for_project_honours_stackfox_state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STACKFOX_STATE_DIR", str(tmp_path / "elsewhere"))

    assert LocalEngine.for_project(tmp_path, toolchain=TOOLCHAIN).state_dir == tmp_path / "elsewhere"


def test_the_user_s_backend_has_no_stackfox_state_dir(tmp_path: Path) -> None:
    with pytest.raises(StackfoxError, match="s3://bucket"):
        user_engine(Backend("s3://bucket", "PULUMI_BACKEND_URL")).state_file("ops", "dev")


def test_without_a_toolchain_it_says_how_to_install_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("stackfox_provider.engine.find_toolchain", lambda: None)

    with pytest.raises(ToolchainError, match="stackfox toolchain install"):
        LocalEngine.for_project(tmp_path)


def test_the_state_line_never_shows_a_password_in_the_backend_url(tmp_path: Path) -> None:
    from stackfox_provider.backend import Backend

    backend = Backend("postgres://stackfox:s3cret@db.example.com/pulumi", "PULUMI_BACKEND_URL")

    assert "s3cret" not in backend.describe()
    assert "postgres://***@db.example.com/pulumi" in backend.describe()
