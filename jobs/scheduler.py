"""Beat's scheduler: django-celery-beat's DatabaseScheduler, plus a heartbeat per tick.

/healthz reports beat "ok" while the heartbeat key is fresh
(jobs.services.components); beat answers no Celery ping, so this is how it is seen.
"""

from __future__ import annotations

import logging

from django_celery_beat.schedulers import DatabaseScheduler

from jobs.services.components import record_beat_tick

logger = logging.getLogger(__name__)


class HeartbeatScheduler(DatabaseScheduler):
    def tick(self, *args, **kwargs):
        try:
            record_beat_tick()
        except Exception as exc:  # a broker outage must not stop beat's own retries
            logger.warning("beat heartbeat not recorded: %s: %s", type(exc).__name__, exc)
        return super().tick(*args, **kwargs)
