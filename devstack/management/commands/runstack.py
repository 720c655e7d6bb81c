"""python manage.py runstack [--demo] [--port N] [--no-tensorboard] [--no-flower]
[--detach | --stop]

Runs the whole service on one machine for `make demo` / `make up`; the work is in
devstack.supervisor (foreground) and devstack.background (--detach, --stop).
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from devstack import background
from devstack.supervisor import Supervisor


class Command(BaseCommand):
    help = (
        "Run web, Celery workers (inference, training), beat, TensorBoard and Flower on this "
        "machine "
        "until Ctrl-C; --demo submits the sample corpus through the API."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--demo", action="store_true", help="submit and print the sample corpus"
        )
        parser.add_argument("--port", type=int, default=settings.PORT)
        parser.add_argument("--tensorboard-port", type=int, default=settings.TENSORBOARD_PORT)
        parser.add_argument("--no-tensorboard", action="store_true")
        parser.add_argument(
            "--no-flower", action="store_true", help="do not run Flower (FLOWER_PORT)"
        )
        parser.add_argument(
            "--web-workers",
            type=int,
            default=settings.WEB_CONCURRENCY,
            help="gunicorn processes (WEB_CONCURRENCY; default: one per core)",
        )
        parser.add_argument(
            "--web-threads",
            type=int,
            default=settings.WEB_THREADS,
            help="threads per gunicorn process (WEB_THREADS)",
        )
        parser.add_argument(
            "--inference-concurrency",
            type=int,
            default=settings.INFERENCE_CONCURRENCY,
            help="processes of the inference worker (INFERENCE_CONCURRENCY; default: one per "
            "core on CPU, sharing the preloaded weights)",
        )
        parser.add_argument(
            "--startup-timeout", type=float, default=180.0, help="seconds to wait for /healthz"
        )
        parser.add_argument("--demo-timeout", type=float, default=300.0)
        parser.add_argument(
            "--no-train",
            action="store_true",
            help="with --demo: skip training a small BertSumExt on the sample corpus",
        )
        parser.add_argument(
            "--grace", type=float, default=20.0, help="seconds between SIGTERM and SIGKILL"
        )
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument(
            "--detach", action="store_true", help="run in the background; return once healthy"
        )
        mode.add_argument("--stop", action="store_true", help="stop a background stack")

    def handle(self, *args, **opts):
        var_dir = Path(settings.VAR_DIR)
        if opts["stop"]:
            background.stop(var_dir, self.stdout, self.stderr)
            return
        background.refuse_if_busy(var_dir, opts)
        if opts["detach"]:
            background.detach(var_dir, opts, self.stdout)
            return
        Supervisor(self, opts).run()
