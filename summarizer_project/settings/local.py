"""Settings for `make demo` and development on one machine: debug on, a fixed
dev-only secret unless SECRET_KEY is set, the embedded Redis's socket unless
REDIS_URL is set (nothing is started here: `manage.py runstack` starts it), and
the devstack app (`manage.py runstack`)."""

import os

from .environment import EMBEDDED_REDIS_URL

os.environ.setdefault("SECRET_KEY", "dev-only-insecure-key-never-use-in-production")
os.environ.setdefault("DEBUG", "true")
os.environ.setdefault("REDIS_URL", EMBEDDED_REDIS_URL)

from .base import *  # noqa: F403
from .base import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "devstack"]
