"""gunicorn's process model from Django settings (WEB_CONCURRENCY, WEB_THREADS).

runstack and docker/entrypoint.sh both pass
``--config python:summarizer_project.gunicorn_config``, so the defaults have one source.

gthread: a request mostly waits on the database and Redis, so each process serves
WEB_THREADS requests at once instead of queueing them behind one sync worker.
"""

import os

from django.conf import settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "summarizer_project.settings.production")

worker_class = "gthread"
workers = settings.WEB_CONCURRENCY
threads = settings.WEB_THREADS
