"""What the benchmarks share: Django in this process on the test settings, and their reports."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTES_MARKER = "<!-- notes -->"


def in_process_django() -> None:
    """Django set up in this process on the test settings, as the test suite has it.

    The platform calls the sandbox through the WSGI handler in this same thread: the database
    connection stays open across those in-process requests, as Django's test client keeps it.
    """
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections
    from django.test.utils import setup_test_environment

    django.setup()
    setup_test_environment()
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)


def write_report(report: Path, text: str) -> None:
    """Write ``text`` to ``report`` at once (never half a report), keeping what follows the old
    report's ``NOTES_MARKER`` line: notes kept by hand."""
    notes = ""
    if report.exists() and NOTES_MARKER in (previous := report.read_text()):
        notes = f"\n{NOTES_MARKER}" + previous.split(NOTES_MARKER, 1)[1]
    report.parent.mkdir(exist_ok=True)
    partial = report.with_suffix(".tmp")
    partial.write_text(text + notes)
    partial.replace(report)
    print(f"Written to {report.relative_to(ROOT)}")
