#!/usr/bin/env python
import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "merchant_platform.settings")
    from django.core.management import execute_from_command_line

    from merchant_platform.checks import relax_for_command

    relax_for_command(sys.argv)  # production-only errors: warnings on a laptop (checks.py)

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
