"""Settings shared by every environment, read from the environment (12-factor).

Every variable is documented in README.md ("Configuration"). Importing settings
starts no process and creates no file: REDIS_URL is required here (local and test
settings default it to the embedded Redis's socket, which the dev stack and the
test suite start themselves).
"""

from __future__ import annotations

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from kombu import Exchange, Queue

# EMBEDDED_REDIS_DIR/_URL: where devstack.embedded_redis runs (settings.EMBEDDED_REDIS_*).
from .environment import (  # noqa: F401
    BASE_DIR,
    EMBEDDED_REDIS_DIR,
    EMBEDDED_REDIS_URL,
    VAR_DIR,
    env,
)

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env("SECRET_KEY")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's static files: /api/docs/ works offline
    "django_celery_beat",
    "jobs",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "summarizer_project.urls"
WSGI_APPLICATION = "summarizer_project.wsgi.application"
ASGI_APPLICATION = "summarizer_project.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Default: a SQLite file under var/, so `make demo` needs no database server.
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'summarizer.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# Persistent connections: otherwise every request opens one (SQLite's PRAGMAs,
# PostgreSQL's backend start and authentication; BENCHMARKS.md, "Serving"); health
# checks drop one the server closed meanwhile.
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
# Outages (RELIABILITY.md, "Outages"): connecting to an unreachable PostgreSQL or
# Redis gives up after these seconds, so a request gets its 503 (jobs.api.errors,
# Retry-After: OUTAGE_RETRY_AFTER) instead of hanging until gunicorn's timeout.
DATABASE_CONNECT_TIMEOUT = env.int("DATABASE_CONNECT_TIMEOUT", default=5)
REDIS_SOCKET_TIMEOUT = env.float("REDIS_SOCKET_TIMEOUT", default=5.0)
OUTAGE_RETRY_AFTER = env.int("OUTAGE_RETRY_AFTER", default=5)
if DATABASES["default"]["ENGINE"].startswith("django.db.backends.postgresql"):
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", DATABASE_CONNECT_TIMEOUT
    )
SQLITE_ENGINE = "summarizer_project.sqlite3"  # Django's, creating the file's directory
if DATABASES["default"]["ENGINE"] in ("django.db.backends.sqlite3", SQLITE_ENGINE):
    DATABASES["default"]["ENGINE"] = SQLITE_ENGINE
    # Web, worker and beat write the same file: wait for locks instead of failing
    # at once, and use WAL so readers never block the writer.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"  # written by collectstatic (runstack, docker/entrypoint.sh)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# Uploads: documents are text; refuse anything larger before it reaches memory.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("MAX_UPLOAD_BYTES", default=5 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = DATA_UPLOAD_MAX_MEMORY_SIZE

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
}

# --- REST API ---------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "jobs.api.errors.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Summarizer API",
    "DESCRIPTION": "Extractive summaries (BertSumExt, MatchSum, Lead-3, TextRank) with "
    "per-sentence scores and character offsets.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "ModelKindEnum": "jobs.models.ModelKind.choices",
        "SplitEnum": "jobs.models.Split.choices",
        "JobStatusEnum": "jobs.models.JobStatus.choices",
        "VersionStatusEnum": "jobs.models.VersionStatus.choices",
    },
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # Swagger UI's JavaScript and CSS from drf-spectacular-sidecar's static files, not a
    # CDN. (No Redoc: its page loads Google fonts and a logo from the internet.)
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "jobs.api.schema.add_error_responses",
    ],
}

# --- Celery -------------------------------------------------------------------
# Required: settings never start a broker. Local and test settings set it to the
# embedded Redis's socket when it is unset (summarizer_project.settings.environment).
REDIS_URL = env.str("REDIS_URL", default="")
if not REDIS_URL:
    raise ImproperlyConfigured(
        "REDIS_URL is not set. It is the Celery broker, e.g. redis://redis:6379/0; "
        "production needs a Redis server (docs/deploy.md). On one machine, "
        "`make demo` / `make up` use summarizer_project.settings.local, which "
        "defaults it to the embedded Redis that the stack starts."
    )

CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = None  # the database is the source of truth, not Celery results
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "jobs.summarize": {"queue": "inference"},
    "jobs.train": {"queue": "training"},
}
# Task events from a worker's start: Flower's Tasks page (a few Redis PUBLISHes a task).
CELERY_WORKER_SEND_TASK_EVENTS = True
# Every queue, declared as Celery declares a missing one (same wire), so Flower's Broker
# page lists them all, not only the default. Every worker command names its queues (-Q).
CELERY_TASK_QUEUES = [
    Queue(name, Exchange(name, type="direct"), routing_key=name)
    for name in ("inference", "training", CELERY_TASK_DEFAULT_QUEUE)
]
# Every time limit must stay below the visibility timeout, or Redis redelivers a
# task that is still running and it runs twice.
CELERY_VISIBILITY_TIMEOUT = env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
SUMMARY_SOFT_TIME_LIMIT = env.int("SUMMARY_SOFT_TIME_LIMIT", default=240)
SUMMARY_TIME_LIMIT = env.int("SUMMARY_TIME_LIMIT", default=300)
# The periodic tasks (reaper, scheduled retraining) are short: they only send jobs.
# Every task sets both limits; Celery refuses to send one whose soft limit exceeds
# its hard one (`manage.py check` refuses such a config: jobs.E004).
SCHEDULED_SOFT_TIME_LIMIT = env.int("SCHEDULED_SOFT_TIME_LIMIT", default=100)
SCHEDULED_TIME_LIMIT = env.int("SCHEDULED_TIME_LIMIT", default=120)
CELERY_TASK_SOFT_TIME_LIMIT = 600
CELERY_TASK_TIME_LIMIT = 900
# django-celery-beat's DatabaseScheduler, also recording sends that fail and a
# heartbeat per tick for /healthz (jobs.beat).
CELERY_BEAT_SCHEDULER = "jobs.beat:RecordingScheduler"
REAPER_INTERVAL_SECONDS = env.float("REAPER_INTERVAL_SECONDS", default=60.0)
CELERY_BEAT_SCHEDULE = {
    "reap-stale-jobs": {"task": "jobs.reap_stale_jobs", "schedule": REAPER_INTERVAL_SECONDS},
}
CELERY_TIMEZONE = TIME_ZONE

# --- Jobs ---------------------------------------------------------------------
# Inference batches (jobs.jobqueue.batches): a task scores its summary with up to
# INFERENCE_BATCH_SIZE-1 other QUEUED ones of the same model in one call. 8: through
# the real worker it served 2.2x the documents per second of one per task, and 16
# no more (1.9x; BENCHMARKS.md, "Batched inference worker"), while a killed batch
# of 8 is half the work to redo and keeps long documents well inside
# SUMMARY_SOFT_TIME_LIMIT. A batch that is not full waits once, at most
# INFERENCE_BATCH_WAIT_MS, for more: under load the backlog fills batches by itself,
# so the wait only groups the start of a burst.
INFERENCE_BATCH_SIZE = env.int("INFERENCE_BATCH_SIZE", default=8)
INFERENCE_BATCH_WAIT_MS = env.int("INFERENCE_BATCH_WAIT_MS", default=20)
# A running summary's heartbeat (one UPDATE per batch); a RUNNING summary whose
# heartbeat is older than SUMMARY_STALE_AFTER is presumed lost and requeued by the
# reaper. Six beats: a loaded machine may delay one or two.
SUMMARY_HEARTBEAT_SECONDS = env.float("SUMMARY_HEARTBEAT_SECONDS", default=5.0)
SUMMARY_STALE_AFTER = env.int("SUMMARY_STALE_AFTER", default=30)
# A QUEUED job not picked up for this long is enqueued again (lost message).
QUEUED_REENQUEUE_AFTER = env.int("QUEUED_REENQUEUE_AFTER", default=300)
JOB_MAX_ATTEMPTS = env.int("JOB_MAX_ATTEMPTS", default=3)
# Queue monitoring (front page, GET /api/health/): how long Celery inspect waits for
# the workers' replies, and how long those replies are cached.
MONITORING_INSPECT_TIMEOUT = env.float("MONITORING_INSPECT_TIMEOUT", default=1.0)
MONITORING_CACHE_SECONDS = env.int("MONITORING_CACHE_SECONDS", default=10)
MAX_DOCUMENT_CHARS = env.int("MAX_DOCUMENT_CHARS", default=1_000_000)
MAX_BATCH_DOCUMENTS = env.int("MAX_BATCH_DOCUMENTS", default=1000)
MAX_SUMMARY_SENTENCES = env.int("MAX_SUMMARY_SENTENCES", default=20)
# Work per job (issue #15). Every model's cost grows with the sentence count
# (TextRank's graph, BertSumExt's windows): documents with more sentences are
# refused at upload (400). At 2,000 sentences BertSumExt takes ~35 s on one core
# (BENCHMARKS.md, "Long documents"). An inference worker's child is replaced after
# a task that took its peak RSS above CELERY_WORKER_MAX_MEMORY_PER_CHILD KiB (0:
# never): 1 GiB = a child's steady 572 MiB with BertSumExt loaded, 687 MiB after a
# 2,000-sentence document, plus headroom. The training worker turns it off on its
# command line (a fresh child per run already; its model is large).
MAX_DOCUMENT_SENTENCES = env.int("MAX_DOCUMENT_SENTENCES", default=2000)
CELERY_WORKER_MAX_MEMORY_PER_CHILD = env.int(
    "CELERY_WORKER_MAX_MEMORY_PER_CHILD", default=1_048_576
)

# --- Models -------------------------------------------------------------------
# A BertSumExt checkpoint directory (written by `python -m ml train`). When set,
# it is the default model; when empty, summaries fall back to lead3 and say so.
BERTSUMEXT_CHECKPOINT = env("BERTSUMEXT_CHECKPOINT", default="")
INFERENCE_DEVICE = env("INFERENCE_DEVICE", default="cpu")
# The `abstractive` model: a local directory or a Hugging Face name whose files are in
# the local cache (never downloaded) of a seq2seq summarizer (bart-large-cnn, t5-small
# ...); empty: not offered. ABSTRACTIVE_GENERATION overrides its beam search and
# length settings (ml.models.abstractive.config.GenerationConfig holds the defaults).
ABSTRACTIVE_MODEL = env("ABSTRACTIVE_MODEL", default="")
ABSTRACTIVE_GENERATION = env.json("ABSTRACTIVE_GENERATION", default={})

# --- Serving: processes, threads, precision (BENCHMARKS.md, "Serving") ----------
# The cores this process may run on (a container's or taskset's, not the host's).
CPU_CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
CPU_CORES = CPU_CORES or 1
_ON_CUDA = INFERENCE_DEVICE.startswith("cuda")


def _count(name: str, default: int) -> int:
    """A positive count from the environment; unset or empty (compose's `${X:-}`): default."""
    value = env.int(name, default=0) if env.str(name, default="") else default
    if value < 1:
        raise ImproperlyConfigured(f"{name} must be a positive integer (got {value})")
    return value


# CPU: one inference process per core with one torch thread each (2 x 1 summarized 1.9x
# as fast as 1 x 2 threads: bench.serving_processes, BENCHMARKS.md). CUDA: one process
# per GPU; the host threads feed it.
INFERENCE_CONCURRENCY = _count("INFERENCE_CONCURRENCY", 1 if _ON_CUDA else CPU_CORES)
INFERENCE_TORCH_THREADS = _count(
    "INFERENCE_TORCH_THREADS", max(1, CPU_CORES // INFERENCE_CONCURRENCY)
)
# Load the default model in the inference worker's parent before it forks its
# processes, so they share the weights copy-on-write (a second process added 205 MiB
# PSS instead of 472: bench.serving_memory). Never on CUDA: the parent must not touch it.
INFERENCE_PRELOAD = env.bool("INFERENCE_PRELOAD", default=not _ON_CUDA)
# fp32 | bf16 (only where the CPU computes bf16 natively; detected) | int8 (dynamic
# quantization of the encoder's Linear layers, CPU) | auto: ml.precision.serving_precision,
# the measured best (CPU int8, CUDA bf16; BENCHMARKS.md, "Serving precision").
INFERENCE_PRECISION = env.str("INFERENCE_PRECISION", default="") or "auto"
# A worker's processes unless its command line says (the training worker: 1).
CELERY_WORKER_CONCURRENCY = INFERENCE_CONCURRENCY
# gunicorn (summarizer_project/gunicorn_config.py, read by runstack and
# docker/entrypoint.sh): one process per core, WEB_THREADS threads each (gthread).
WEB_CONCURRENCY = _count("WEB_CONCURRENCY", CPU_CORES)
WEB_THREADS = _count("WEB_THREADS", 8)

# --- Ports of the one-machine stack (`make demo` / `make up`, devstack) ----------
PORT = env.int("PORT", default=8000)
TENSORBOARD_PORT = env.int("TENSORBOARD_PORT", default=6006)
# runstack restarts a child that dies: after RUNSTACK_RESTART_DELAY seconds, doubled
# for each further death in a row up to RUNSTACK_RESTART_MAX_DELAY (a crash loop
# backs off instead of spinning); a child that stayed up RUNSTACK_RESTART_RESET_AFTER
# seconds starts again from the first delay.
RUNSTACK_RESTART_DELAY = env.float("RUNSTACK_RESTART_DELAY", default=1.0)
RUNSTACK_RESTART_MAX_DELAY = env.float("RUNSTACK_RESTART_MAX_DELAY", default=30.0)
RUNSTACK_RESTART_RESET_AFTER = env.float("RUNSTACK_RESTART_RESET_AFTER", default=60.0)

# --- /healthz (jobs.services.components) -------------------------------------------
# Components besides the database and the broker whose absence makes /healthz 503:
# any of "inference", "training", "beat". The others are reported, not required:
# uploads queue safely without a training worker or beat (the reaper only waits).
HEALTHZ_REQUIRED = env.list("HEALTHZ_REQUIRED", default=["inference"])
if set(HEALTHZ_REQUIRED) - {"inference", "training", "beat"}:
    raise ImproperlyConfigured(
        f"HEALTHZ_REQUIRED={','.join(HEALTHZ_REQUIRED)}: each must be inference, training or beat"
    )
# Workers are asked with a Celery ping that waits this long for replies; the
# report is cached this many seconds so probes and load balancers stay cheap.
HEALTHZ_PING_TIMEOUT = env.float("HEALTHZ_PING_TIMEOUT", default=1.0)
HEALTHZ_CACHE_SECONDS = env.float("HEALTHZ_CACHE_SECONDS", default=2.0)
# Beat writes a heartbeat key to the broker's Redis at every tick (at most every
# 5 s, django-celery-beat's loop); it expires after this many seconds.
BEAT_HEARTBEAT_TTL = env.int("BEAT_HEARTBEAT_TTL", default=30)

# --- Training -------------------------------------------------------------------
TRAINING_DIR = Path(env("TRAINING_DIR", default=str(VAR_DIR / "runs")))
TENSORBOARD_LOGDIR = Path(env("TENSORBOARD_LOGDIR", default=str(VAR_DIR / "tensorboard")))
# Where the web process reaches TensorBoard. Staff never see this address: they open
# TensorBoard through the admin's staff-only proxy, so it stays on a private network.
TENSORBOARD_INTERNAL_URL = env(
    "TENSORBOARD_INTERNAL_URL", default=f"http://127.0.0.1:{TENSORBOARD_PORT}"
)
# Flower (queue monitoring), like TensorBoard: staff reach it only through the admin's
# staff-only proxy (/admin/flower/), so it listens on a private address.
FLOWER_PORT = env.int("FLOWER_PORT", default=5555)
FLOWER_INTERNAL_URL = env("FLOWER_INTERNAL_URL", default=f"http://127.0.0.1:{FLOWER_PORT}")
FLOWER_URL_PREFIX = "admin/flower"  # the proxy's path and Flower's --url_prefix: the same
TRAINING_DEVICE = env("TRAINING_DEVICE", default="auto")  # auto: cuda when present
# Each kind's training recipe is its ml config dataclass defaults (ml.registry,
# docs/ml.md). TRAINING_DEFAULTS is an operator override applied on top for every
# kind; a run's params override it ("model" is merged key by key).
TRAINING_DEFAULTS = env.json("TRAINING_DEFAULTS", default={})
SCHEDULED_TRAINING_PARAMS = env.json("SCHEDULED_TRAINING_PARAMS", default={})
# Below the broker's visibility timeout, or Redis hands the same run to a second
# worker. A run longer than one task reaches the soft limit, checkpoints the step it
# is at and continues in a new task (TrainingRun.continuations; attempts unchanged),
# so a run may take hours. The gap to the hard limit must cover one validation pass.
TRAINING_SOFT_TIME_LIMIT = env.int("TRAINING_SOFT_TIME_LIMIT", default=3300)
TRAINING_TIME_LIMIT = env.int("TRAINING_TIME_LIMIT", default=3500)
TRAINING_HEARTBEAT_SECONDS = env.float("TRAINING_HEARTBEAT_SECONDS", default=15.0)
TRAINING_PROGRESS_SECONDS = env.float("TRAINING_PROGRESS_SECONDS", default=2.0)
TRAINING_STALE_AFTER = env.int("TRAINING_STALE_AFTER", default=120)
# The gate (jobs/services/versions.py) compares a new version with what serves (the
# active version, or Lead-3) on the run's validation documents, per document (mean of
# R1/R2/RLsum): it promotes only with at least PROMOTION_MIN_DOCUMENTS of them and when
# the lower bound of the paired bootstrap's 95% interval of (new - serving) is above
# -PROMOTION_TOLERANCE points. PROMOTION_BOOTSTRAP_RESAMPLES resamples, seeded.
PROMOTION_TOLERANCE = env.float("PROMOTION_TOLERANCE", default=0.0)
PROMOTION_MIN_DOCUMENTS = env.int("PROMOTION_MIN_DOCUMENTS", default=30)
PROMOTION_BOOTSTRAP_RESAMPLES = env.int("PROMOTION_BOOTSTRAP_RESAMPLES", default=2000)
# After training, the best model scores the first TRAINING_SCORED_TRAIN_DOCUMENTS of
# its own training documents; their misclassified sentences (likely label noise) go to
# the review queue, the TRAINING_ERRORS_PER_RUN with the highest loss first.
TRAINING_SCORED_TRAIN_DOCUMENTS = env.int("TRAINING_SCORED_TRAIN_DOCUMENTS", default=2000)
TRAINING_ERRORS_PER_RUN = env.int("TRAINING_ERRORS_PER_RUN", default=200)

# Staff-labelled documents that have no split yet go to validation when their text's
# sha256 (as a fraction in [0, 1)) is below this, else to train: a stable rule, so each
# domain staff label keeps held-out documents for the gate (jobs.services.labels).
LABELLED_VALIDATION_FRACTION = env.float("LABELLED_VALIDATION_FRACTION", default=0.2)

# --- API limits and throttling (jobs/api: parsers, middleware, throttles) --------
# Every body over MAX_UPLOAD_BYTES gets a JSON 413 (Content-Length checked first,
# then while reading); JSON nested deeper than MAX_JSON_DEPTH gets a 400.
MAX_UPLOAD_BYTES = DATA_UPLOAD_MAX_MEMORY_SIZE
MAX_JSON_DEPTH = env.int("MAX_JSON_DEPTH", default=32)
MIDDLEWARE.insert(1, "jobs.api.middleware.ApiErrorMiddleware")
MIDDLEWARE.insert(0, "jobs.api.newline.JsonNewlineMiddleware")  # outermost: sees every body
# DRF rates ("N/second|minute|hour|day"; empty: no limit). Failed logins count per
# client IP and per username; uploads (document create, batch, summarize) per user.
THROTTLE_RATES = {
    "login_ip": env("THROTTLE_LOGIN_IP", default="30/hour") or None,
    "login_user": env("THROTTLE_LOGIN_USER", default="10/hour") or None,
    "uploads": env("THROTTLE_UPLOADS", default="600/hour") or None,
}
# The client address the per-IP throttle counts: REMOTE_ADDR unless NUM_PROXIES
# reverse proxies in front append to X-Forwarded-For (then the address they saw).
# With DRF's default (None) a client could rotate X-Forwarded-For to dodge it.
REST_FRAMEWORK["NUM_PROXIES"] = env.int("NUM_PROXIES", default=0)
# Throttle counts live in the cache: Redis (REDIS_URL), so every
# web worker process shares them; test settings use locmem.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        # redis-py spells the embedded Redis's socket unix:// (kombu: redis+socket://)
        "LOCATION": REDIS_URL.replace("redis+socket://", "unix://", 1),
        "KEY_PREFIX": "summarizer",
        "OPTIONS": {
            "socket_connect_timeout": REDIS_SOCKET_TIMEOUT,
            "socket_timeout": REDIS_SOCKET_TIMEOUT,
        },
    }
}
