"""The boundaries of DESIGN.md, checked on the source: who may import whom."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PLATFORM_PACKAGES = {
    *("merchant_platform", "accounts", "tenants", "pos", "orders", "partners", "console"),
    *("disputes", "reports", "mpapi"),
}


def imported_top_level_names(source: str) -> set[str]:
    """Top-level package names imported by ``source`` (absolute imports only)."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def imports_of_package(package: str) -> dict[str, set[str]]:
    return {
        str(path.relative_to(ROOT)): imported_top_level_names(path.read_text())
        for path in (ROOT / package).rglob("*.py")
    }


def test_the_import_scanner_sees_every_form_of_import():
    source = "import django.db\nfrom sandbox.models import X\nfrom . import y\nimport os, tenants"
    assert imported_top_level_names(source) == {"django", "sandbox", "os", "tenants"}


def test_mpapi_imports_no_django_and_no_platform_code():
    forbidden = {"django", "sandbox"} | (PLATFORM_PACKAGES - {"mpapi"})
    for path, names in imports_of_package("mpapi").items():
        assert not names & forbidden, path


def test_sandbox_imports_nothing_from_the_platform():
    for path, names in imports_of_package("sandbox").items():
        assert not names & PLATFORM_PACKAGES, path


@pytest.mark.parametrize("package", sorted(PLATFORM_PACKAGES))
def test_the_platform_imports_nothing_from_the_sandbox(package):
    for path, names in imports_of_package(package).items():
        assert "sandbox" not in names, path


def test_no_package_shadows_the_standard_librarys_platform_module():
    assert not (ROOT / "platform").exists()
    assert not (ROOT / "platform.py").exists()
    import platform

    assert platform.__file__ is not None
    assert not platform.__file__.startswith(str(ROOT))
