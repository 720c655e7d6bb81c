"""The app's models: documents and the jobs that summarize them (``jobs``), model
versions (``versions``), review rows (``reviews``), periodic-task outcomes
(``schedules``), and their choices (``choices``).

Every job is a row with a status machine, attempts, a lease token and a
heartbeat: the database is the source of truth, the broker only a doorbell
(``jobs.services.leases``). All writes go through ``jobs.services``.
"""

from .choices import (
    TERMINAL_STATUSES,
    ErrorKind,
    JobStatus,
    LabelSource,
    ModelKind,
    ReviewStatus,
    RunRole,
    Split,
    TrainableKind,
    Trigger,
    VersionStatus,
)
from .jobs import Document, Summary, TrainingRun
from .reviews import LabelOverride, ReviewEvent, RunPrediction, SentenceError
from .schedules import ScheduleRun
from .versions import ModelVersion, VersionTransition

__all__ = [
    "TERMINAL_STATUSES",
    "Document",
    "ErrorKind",
    "JobStatus",
    "LabelOverride",
    "LabelSource",
    "ModelKind",
    "ModelVersion",
    "ReviewEvent",
    "ReviewStatus",
    "RunPrediction",
    "RunRole",
    "ScheduleRun",
    "SentenceError",
    "Split",
    "Summary",
    "TrainableKind",
    "TrainingRun",
    "Trigger",
    "VersionStatus",
    "VersionTransition",
]
