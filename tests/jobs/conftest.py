import pytest


@pytest.fixture
def training_dirs(settings, tmp_path):
    """Training runs write under tmp_path and train on the CPU."""
    settings.TRAINING_DIR = tmp_path / "runs"
    settings.TENSORBOARD_LOGDIR = tmp_path / "tb"
    settings.TRAINING_DEVICE = "cpu"


@pytest.fixture
def worker_node(monkeypatch):
    """This test process as a pool process of the worker test@here (restored afterwards):
    returns its (nodename, incarnation)."""
    from jobs.jobqueue import owners

    monkeypatch.setattr(owners, "_node", owners._node)
    monkeypatch.setattr(owners, "_incarnation", owners._incarnation)
    owners.start_incarnation("test@here")
    return owners.node(), owners.me().split(" ")[1]


@pytest.fixture
def dead_pid():
    """The pid of a process that has exited and been reaped."""
    import subprocess

    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid
