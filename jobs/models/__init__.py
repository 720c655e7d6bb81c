"""The app's models: documents and the jobs that summarize them (``jobs``), model
versions (``versions``), review rows (``reviews``), periodic-task outcomes
(``schedules``), and their choices (``choices``).

Every job is a ``LeasedJob`` (``leased``): a row with a status machine, attempts, a
lease and a heartbeat; the database is the source of truth, the broker only a
doorbell (``jobs.jobqueue``).
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
from .leased import LeasedJob
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
    "LeasedJob",
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
