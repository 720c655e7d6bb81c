import pytest


@pytest.fixture
def training_dirs(settings, tmp_path):
    """Training runs write under tmp_path and train on the CPU."""
    settings.TRAINING_DIR = tmp_path / "runs"
    settings.TENSORBOARD_LOGDIR = tmp_path / "tb"
    settings.TRAINING_DEVICE = "cpu"
