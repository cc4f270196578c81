"""Gunicorn settings for serving the app with uvicorn workers, from the same environment.

    gunicorn -c python:bugfixer.gunicorn_conf

Gunicorn's master reads this module once, before it forks the workers. What it sets up
matches ``bugfixer serve``: BUGFIXER_HOST/PORT/WORKERS, X-Forwarded-* believed only from
BUGFIXER_TRUSTED_PROXIES (gunicorn and uvicorn would otherwise trust 127.0.0.1), a fresh
folder where the workers add up their metrics, and the configured log format. Migrations
are not run here: run ``bugfixer db upgrade`` first.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from bugfixer.config import load_settings
from bugfixer.observability.multiprocess import MULTIPROC_ENV, prepare_multiprocess_dir

_settings = load_settings()

wsgi_app = "bugfixer.main:create_app()"
worker_class = "uvicorn_worker.UvicornWorker"
bind = f"{os.environ.get('BUGFIXER_HOST', '127.0.0.1')}:{os.environ.get('BUGFIXER_PORT', '8000')}"
workers = int(os.environ.get("BUGFIXER_WORKERS", "2"))
forwarded_allow_ips = _settings.trusted_proxies
graceful_timeout = _settings.shutdown_timeout_s
accesslog = None  # the app writes its own access log

_made_folder = None
if not os.environ.get(MULTIPROC_ENV):
    _made_folder = os.environ[MULTIPROC_ENV] = tempfile.mkdtemp(prefix="bugfixer-metrics-")
prepare_multiprocess_dir(Path(os.environ[MULTIPROC_ENV]))


def on_exit(server: object) -> None:
    if _made_folder:
        shutil.rmtree(_made_folder, ignore_errors=True)


if _settings.log_format == "json":
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "bugfixer.observability.logs.JsonFormatter"}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json"}},
        "loggers": {
            "gunicorn.error": {"handlers": ["stderr"], "level": "INFO", "propagate": False}
        },
        # Each worker's app adds its own handler to the root logger.
        "root": {"level": "INFO", "handlers": []},
    }
