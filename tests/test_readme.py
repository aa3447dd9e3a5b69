"""The README stays true to the code: its quick start and its list of environment variables."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_every_environment_variable_read_by_the_settings_is_documented():
    settings_source = (ROOT / "merchant_platform" / "settings.py").read_text()
    variables = set(re.findall(r'env(?:\.\w+|_list)\(\s*"([A-Z0-9_]+)"', settings_source))
    assert len(variables) > 20
    undocumented = {name for name in variables if f"`{name}`" not in README}
    assert undocumented == set()


def test_quick_start_names_the_two_make_targets_and_ci_runs_the_test_one():
    quick_start = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    assert "make run" in quick_start
    assert "make test" in quick_start
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^run: ", makefile, re.M)
    assert re.search(r"^test: ", makefile, re.M)
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_demo_logins_in_the_readme_match_the_seed_command():
    from tenants.management.commands.seed_demo import DEMO_PASSWORD, DEMO_SELLERS

    assert f"`{DEMO_PASSWORD}`" in README
    for seller in DEMO_SELLERS:
        assert seller["name"] in README
        for username, _role in seller["members"]:
            assert f"`{username}`" in README
