"""Settings for `make demo` and development on one machine: debug on, a fixed
dev-only secret unless SECRET_KEY is set."""

import os

os.environ.setdefault("SECRET_KEY", "dev-only-insecure-key-never-use-in-production")
os.environ.setdefault("DEBUG", "true")

from .base import *  # noqa: F403
