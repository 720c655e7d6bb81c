"""The test suite's environment, set before the test settings read it (settings.test).

The suite's results depend on the tests alone: no .env file, and every variable the
settings read comes from its default, never from a developer's shell, except the
few in FROM_SHELL, which say where the suite's database and broker are. A test that
needs another value passes it to the process it starts: a worker of its own
(tests/integration/conftest.py marks it SUMMARIZER_TEST_CHILD, which keeps what the
test passed) or a stack (tests/integration/stack.py: the local settings, which read
the environment they are given). The test processes inherit this cleaned
environment, so a developer's PROMOTION_TOLERANCE reaches none of them.

tests/summarizer_project/test_hermetic.py fails when a setting reads a variable that
is in neither list: a new setting must be pinned here (or say why the shell may set it).
"""

import os

# Where the suite's services are (CI: PostgreSQL, the system Redis) and how loud.
FROM_SHELL = (
    "DATABASE_URL",
    "REDIS_URL",
    "TEST_REDIS_DB",
    "SUMMARIZER_VAR_DIR",
    "SUMMARIZER_DOTENV",  # set to "" below
    "SECRET_KEY",
    "LOG_LEVEL",
)

# Every other variable settings/ (and devstack's demo login) read: their defaults.
PINNED = (
    # Django, the web process
    "DEBUG",
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "CONN_MAX_AGE",
    "MAX_UPLOAD_BYTES",
    "MAX_JSON_DEPTH",
    "NUM_PROXIES",
    "THROTTLE_LOGIN_IP",
    "THROTTLE_LOGIN_USER",
    "THROTTLE_UPLOADS",
    "WEB_CONCURRENCY",
    "WEB_THREADS",
    "PORT",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_PRELOAD",
    # jobs, limits, the reaper
    "CELERY_VISIBILITY_TIMEOUT",
    "SUMMARY_SOFT_TIME_LIMIT",
    "SUMMARY_TIME_LIMIT",
    "SCHEDULED_SOFT_TIME_LIMIT",
    "SCHEDULED_TIME_LIMIT",
    "REAPER_INTERVAL_SECONDS",
    "SUMMARY_HEARTBEAT_SECONDS",
    "SUMMARY_STALE_AFTER",
    "QUEUED_REENQUEUE_AFTER",
    "JOB_MAX_ATTEMPTS",
    "DATABASE_CONNECT_TIMEOUT",
    "REDIS_SOCKET_TIMEOUT",
    "OUTAGE_RETRY_AFTER",
    "MAX_DOCUMENT_CHARS",
    "MAX_BATCH_DOCUMENTS",
    "MAX_SUMMARY_SENTENCES",
    "MAX_DOCUMENT_SENTENCES",
    # serving
    "INFERENCE_BATCH_SIZE",
    "INFERENCE_BATCH_WAIT_MS",
    "CELERY_WORKER_MAX_MEMORY_PER_CHILD",
    "BERTSUMEXT_CHECKPOINT",
    "INFERENCE_DEVICE",
    "ABSTRACTIVE_MODEL",
    "ABSTRACTIVE_GENERATION",
    "INFERENCE_CONCURRENCY",
    "INFERENCE_TORCH_THREADS",
    "INFERENCE_PRELOAD",
    "INFERENCE_PRECISION",
    # health and monitoring
    "LABELLED_VALIDATION_FRACTION",
    "HEALTHZ_REQUIRED",
    "HEALTHZ_PING_TIMEOUT",
    "HEALTHZ_CACHE_SECONDS",
    "BEAT_HEARTBEAT_TTL",
    "MONITORING_INSPECT_TIMEOUT",
    "MONITORING_CACHE_SECONDS",
    # the dev stack
    "TENSORBOARD_PORT",
    "TENSORBOARD_INTERNAL_URL",
    "FLOWER_PORT",
    "FLOWER_INTERNAL_URL",
    "RUNSTACK_RESTART_DELAY",
    "RUNSTACK_RESTART_MAX_DELAY",
    "RUNSTACK_RESTART_RESET_AFTER",
    "DJANGO_SUPERUSER_USERNAME",
    "DJANGO_SUPERUSER_PASSWORD",
    # training
    "TRAINING_DIR",
    "TENSORBOARD_LOGDIR",
    "TRAINING_DEVICE",
    "TRAINING_DEFAULTS",
    "SCHEDULED_TRAINING_PARAMS",
    "TRAINING_SOFT_TIME_LIMIT",
    "TRAINING_TIME_LIMIT",
    "TRAINING_HEARTBEAT_SECONDS",
    "TRAINING_PROGRESS_SECONDS",
    "TRAINING_STALE_AFTER",
    "PROMOTION_TOLERANCE",
    "PROMOTION_MIN_DOCUMENTS",
    "PROMOTION_BOOTSTRAP_RESAMPLES",
    "TRAINING_SCORED_TRAIN_DOCUMENTS",
    "TRAINING_ERRORS_PER_RUN",
)

os.environ["SUMMARIZER_DOTENV"] = ""
if not os.environ.get("SUMMARIZER_TEST_CHILD"):
    for name in PINNED:
        os.environ.pop(name, None)
