"""The production kit's files agree with the scripts that tests/ops/test_production_kit.py runs:
the Dockerfile, compose.yaml, the Procfile and the systemd units call the same deploy/ scripts;
the image runs as an unprivileged user; the lock file pins every dependency of pyproject.toml
(extras included) with hashes; .env.example names every variable docs/deploy.md documents."""

import os
import re
import tomllib
from importlib.metadata import PackageNotFoundError, requires
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
PROCESSES = ("release", "web", "live", "worker", "beat", "relay")
TARGET = {"python_version": "3.11", "python_full_version": "3.11.7", "sys_platform": "linux"}


def instructions(text: str) -> list[tuple[str, str]]:
    """The Dockerfile's instructions as (keyword, arguments), continuation lines joined."""
    joined = re.sub(r"\\\n", " ", text)
    lines = [line.strip() for line in joined.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def test_the_scripts_exist_and_are_executable():
    for name in (*PROCESSES, "build"):
        script = ROOT / "deploy" / f"{name}.sh"
        assert os.access(script, os.X_OK), script


def test_the_image_builds_with_the_scripts_and_runs_unprivileged():
    steps = instructions((ROOT / "Dockerfile").read_text())
    assert steps[0] == ("FROM", "python:3.11-slim")
    runs = [arguments for keyword, arguments in steps if keyword == "RUN"]
    assert "deploy/build.sh deps" in runs
    assert "deploy/build.sh static" in runs
    # The dependencies are installed before the source is copied, from the lock file alone.
    copies = [arguments for keyword, arguments in steps if keyword in ("COPY", "RUN")]
    assert copies.index("deploy/build.sh deps") < copies.index(". .")
    assert copies.index("requirements.lock ./") < copies.index("deploy/build.sh deps")
    users = [arguments for keyword, arguments in steps if keyword == "USER"]
    assert users
    assert users[-1].split(":")[0] not in ("root", "0")
    assert steps.index(("USER", users[-1])) > steps.index(("RUN", "deploy/build.sh static"))
    assert dict(steps)["CMD"] == '["deploy/web.sh"]'
    assert dict(steps)["HEALTHCHECK"].endswith('CMD ["python", "deploy/healthcheck.py"]')
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert {".env", ".venv", ".git", "/staticfiles"} <= set(ignored)


def test_compose_runs_every_process_of_the_image_with_its_script():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"db", "redis", "proxy", "mail", *PROCESSES}
    assert services["mail"]["profiles"] == ["staging"]  # staging's mail catcher only
    for name in PROCESSES:
        service = services[name]
        assert service["command"] == [f"deploy/{name}.sh"], name
        assert (service["build"], service["image"]) == (".", "merchant-platform:local")
        assert service["env_file"] == ".env"
        assert service["environment"]["DATABASE_URL"].startswith("postgres://")
        assert service["environment"]["CELERY_BROKER_URL"].startswith("redis://redis:")
    for name in ("web", "live", "worker", "beat", "relay"):
        assert services[name]["depends_on"] == {
            "release": {"condition": "service_completed_successfully"}
        }
    assert services["db"]["image"].startswith("postgres:")
    assert services["redis"]["image"].startswith("redis:")
    proxy = services["proxy"]
    assert proxy["image"].startswith("caddy:")
    assert "./deploy/Caddyfile:/etc/caddy/Caddyfile:ro" in proxy["volumes"]
    assert "reverse_proxy web:8000" in (ROOT / "deploy/Caddyfile").read_text()
    assert "reverse_proxy live:8001" in (ROOT / "deploy/Caddyfile").read_text()


def test_the_procfile_and_the_systemd_units_call_the_same_scripts():
    procfile = dict(
        line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line
    )
    assert procfile == {name: f"deploy/{name}.sh" for name in PROCESSES}
    for name in PROCESSES:
        unit = (ROOT / f"deploy/systemd/merchant-platform-{name}.service").read_text()
        assert f"ExecStart=/srv/merchant-platform/deploy/{name}.sh\n" in unit
        assert "User=merchant\n" in unit
        assert "EnvironmentFile=/etc/merchant-platform/env\n" in unit


def locked() -> dict[str, tuple[Version, str]]:
    """requirements.lock's pins: name -> (version, the pin's text with its hashes)."""
    text = (ROOT / "requirements.lock").read_text()
    pins = {}
    for block in re.split(r"\n(?=\S)", text):
        found = re.match(r"([A-Za-z0-9_.\-]+)==([^\s;\\]+)", block)
        if found:
            pins[canonicalize_name(found[1])] = (Version(found[2]), block)
    return pins


def wanted(requirement: Requirement) -> list[Requirement]:
    """``requirement`` and, through the installed metadata, what its extras add (recursively:
    ``celery[redis]`` wants ``kombu[redis]``, which wants ``redis``)."""
    found = [requirement]
    for extra in requirement.extras:
        try:
            declared = requires(requirement.name) or []
        except PackageNotFoundError:
            pytest.fail(f"{requirement.name} is not installed: cannot read its extra {extra}")
        for line in declared:
            needed = Requirement(line)
            marker = needed.marker
            if marker and "extra" in str(marker) and marker.evaluate(TARGET | {"extra": extra}):
                needed.marker = None  # wanted, on this platform
                found += wanted(needed)
    return found


def test_the_lock_file_pins_every_dependency_with_hashes():
    """Regenerate it as docs/operations.md says when pyproject.toml's dependencies change."""
    pins = locked()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    missing = []
    for line in project["dependencies"]:
        for requirement in wanted(Requirement(line)):
            if requirement.marker and not requirement.marker.evaluate(TARGET | {"extra": ""}):
                continue
            pin = pins.get(canonicalize_name(requirement.name))
            if pin is None or pin[0] not in requirement.specifier:
                missing.append(f"{requirement} (locked: {pin[0] if pin else 'no'})")
    assert not missing, f"requirements.lock is out of date with pyproject.toml: {missing}"
    assert all("--hash=sha256:" in block for _version, block in pins.values())
    assert "--require-hashes" in (ROOT / "deploy/build.sh").read_text()


def documented_variables() -> set[str]:
    """The variables named in the first column of docs/deploy.md's tables."""
    names = set()
    for line in (ROOT / "docs/deploy.md").read_text().splitlines():
        if line.startswith("| `"):
            first = line.split("|")[1]
            names |= set(re.findall(r"`([A-Z][A-Z0-9_]+)`", first))
    return names


def read_variables() -> set[str]:
    """The variables the settings and gunicorn.conf.py read."""
    settings = (ROOT / "merchant_platform/settings.py").read_text()
    gunicorn = (ROOT / "gunicorn.conf.py").read_text()
    return set(re.findall(r"env[a-z_.]*\(\s*\"([A-Z][A-Z0-9_]+)\"", settings)) | set(
        re.findall(r"(?:environ\.get|_number)\(\"([A-Z][A-Z0-9_]+)\"", gunicorn)
    )


def test_env_example_names_every_variable():
    example = (ROOT / ".env.example").read_text()
    given = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", example, re.MULTILINE))
    missing = (documented_variables() | read_variables()) - given
    assert not missing, f".env.example lacks {sorted(missing)}"
