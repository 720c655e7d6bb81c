#!/bin/sh
# Start one Summarizer process: web | worker-inference | worker-training | beat | tensorboard |
# flower.
# Anything else is run as given (e.g. `python manage.py createsuperuser`).
set -eu

# compose cannot leave a variable out: `X: ${X:-}` passes X empty when it is not set.
# Empty means "the default" for our settings, but other readers parse it first
# (gunicorn's config module does int(WEB_CONCURRENCY) on import), so unset every
# empty variable before starting anything.
for name in $(env | sed -n 's/^\([A-Za-z_][A-Za-z0-9_]*\)=$/\1/p'); do
    if [ -z "$(printenv "$name")" ]; then
        unset "$name"
    fi
done

VAR_DIR=${SUMMARIZER_VAR_DIR:-/var/lib/summarizer}
mkdir -p "$VAR_DIR/tensorboard" "$VAR_DIR/static"

case "${1:-web}" in
web)
    # Migrations run here, before the server accepts requests. With several
    # web replicas, run them once instead: `docker compose run --rm web migrate`.
    python manage.py migrate --noinput
    python manage.py collectstatic --noinput --verbosity 0
    # Processes and threads (gthread): WEB_CONCURRENCY / WEB_THREADS, defaults
    # in settings/base.py (one process per core, 8 threads each).
    exec gunicorn summarizer_project.wsgi:application \
        --config python:summarizer_project.gunicorn_config \
        --bind "0.0.0.0:${PORT:-8000}" \
        --graceful-timeout 20 \
        --access-logfile - \
        --forwarded-allow-ips "${FORWARDED_ALLOW_IPS:-*}"
    ;;
migrate)
    exec python manage.py migrate --noinput
    ;;
worker-inference)
    # Children are replaced after a task that left them above
    # CELERY_WORKER_MAX_MEMORY_PER_CHILD KiB (default in settings/base.py).
    # Processes: INFERENCE_CONCURRENCY (CELERY_WORKER_CONCURRENCY in settings/base.py;
    # default one per core on CPU, one on CUDA).
    exec celery -A summarizer_project worker --loglevel "${LOG_LEVEL:-INFO}" \
        --queues inference,default --hostname "inference@%h"
    ;;
worker-training)
    # One training run at a time; a fresh child per run returns its (GPU) memory,
    # so the inference workers' memory limit is off here.
    exec celery -A summarizer_project worker --loglevel "${LOG_LEVEL:-INFO}" \
        --queues training --hostname "training@%h" \
        --concurrency 1 --max-tasks-per-child 1 --max-memory-per-child 0
    ;;
beat)
    # The schedule lives in the database (django-celery-beat's DatabaseScheduler, which
    # jobs.beat.RecordingScheduler extends to record refused sends; CELERY_BEAT_SCHEDULER).
    exec celery -A summarizer_project beat --loglevel "${LOG_LEVEL:-INFO}"
    ;;
tensorboard)
    exec tensorboard --logdir "$VAR_DIR/tensorboard" --host 0.0.0.0 --port "${TENSORBOARD_PORT:-6006}"
    ;;
flower)
    # Read-only, under the URL prefix web's staff-only proxy serves it at (/admin/flower/).
    # Flower's options only as --name=value: it keeps the arguments that name an option
    # and drops the rest, so `--address 0.0.0.0` would lose its value.
    exec celery -A summarizer_project flower --address=0.0.0.0 --port="${FLOWER_PORT:-5555}" \
        --url_prefix=admin/flower --read_only --inspect_timeout=2000
    ;;
*)
    exec "$@"
    ;;
esac
