"""gunicorn's configuration for ``bench/paid_order_cost.py``: the repository's
``gunicorn.conf.py``, and the CPU time of each request counted by route
(``bench/cpu_accounting.py``). Given as ``GUNICORN_CMD_ARGS=--config bench/gunicorn_cpu.py``."""

from pathlib import Path

_CONF = Path(__file__).resolve().parent.parent / "gunicorn.conf.py"
exec(compile(_CONF.read_text(), str(_CONF), "exec"))  # noqa: S102 (the repository's own file)


def pre_request(worker, req) -> None:
    from bench import cpu_accounting

    cpu_accounting.request_started(req)


def post_request(worker, req, environ, resp) -> None:
    from bench import cpu_accounting

    cpu_accounting.request_finished(req)


def worker_exit(server, worker) -> None:
    from bench import cpu_accounting

    cpu_accounting.flush()
    cpu_accounting.dump_profile()
