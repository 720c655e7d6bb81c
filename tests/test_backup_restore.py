"""docs/deploy.md, "Backup and restore": its one-machine blocks run as written. A state
directory with an active trained version is backed up, deleted, restored into another
directory, and the restored one serves that version from its restored checkpoint."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.summarizer_project.helpers import ROOT, clean_env, manage

DEPLOY = ROOT / "docs" / "deploy.md"
SECTION = re.compile(r"^## Backup and restore\n(.*?)(?=^## |\Z)", re.S | re.M)
BLOCK = re.compile(r"^```sh\n(.*?)^```", re.S | re.M)

# What a stack that finished a run has: an active BertSumExt version whose checkpoint
# is TRAINING_DIR/run-1/best (a tiny model: loading it is what is tested, not quality).
TRAINED = """
import torch
from pathlib import Path
from django.conf import settings
from jobs.models import ModelVersion
from ml.encoders import DEFAULT_ENCODER, load_tokenizer
from ml.models.bertsumext.checkpoint import save_pretrained
from ml.models.bertsumext.model import BertSumExt
from tests.ml.fixtures.bertsumext import tiny_config

torch.manual_seed(0)
best = save_pretrained(
    BertSumExt(tiny_config()), load_tokenizer(DEFAULT_ENCODER),
    Path(settings.TRAINING_DIR) / "run-1" / "best",
)
version = ModelVersion.objects.create(kind="bertsumext", checkpoint_dir=str(best), is_active=True)
print(version.label)
"""
STORED = """
from django.db import connection
with connection.cursor() as c:
    c.execute("SELECT checkpoint_dir FROM jobs_modelversion")
    print(c.fetchone()[0])
"""
DOCUMENT = (
    "The council approved the new bridge on Monday. Construction starts in May. "
    "It will cost four million euros. Residents asked for a cycle lane. "
    "The council agreed to add one."
)


def deploy_blocks() -> list[str]:
    return BLOCK.findall(SECTION.search(DEPLOY.read_text(encoding="utf-8")).group(1))


def run(argv: list[str], env: dict[str, str], cwd: Path = ROOT, timeout: float = 300) -> str:
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{argv}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout


@pytest.mark.timeout(600)
def test_a_backup_restored_into_a_new_directory_serves_its_trained_version(tmp_path):
    backup_block, restore_block = deploy_blocks()
    old, new = tmp_path / "old-var", tmp_path / "new-var"
    env = clean_env(old, DJANGO_SETTINGS_MODULE="summarizer_project.settings.local")
    run(manage("migrate", "--noinput", "--verbosity", "0"), env)
    label = run(manage("shell", "-c", TRAINED), env).splitlines()[-1]
    assert run(manage("shell", "-c", STORED), env).splitlines()[-1] == "run-1/best"  # relative

    # Back up as the doc says (the shell of an operator in the checkout, var/ moved by
    # SUMMARIZER_VAR_DIR), then lose the old directory.
    run(["bash", "-euo", "pipefail", "-c", backup_block], env, cwd=tmp_path)
    (backup,) = tmp_path.glob("summarizer-backup-*")
    shutil.rmtree(old)

    # Restore as the doc says, into a new directory; `make up` is replaced by a
    # synchronous summary (the same model resolution as the workers'), below.
    lines = restore_block.replace("NEW=/srv/summarizer-var", f"NEW={new}").splitlines()
    assert lines[-1] == 'SUMMARIZER_VAR_DIR="$NEW" make up'
    script = "\n".join([f"BACKUP={backup}", "cd " + str(ROOT), *lines[:-1]])
    run(["bash", "-euo", "pipefail", "-c", script], env, cwd=tmp_path)

    served_env = clean_env(new, DJANGO_SETTINGS_MODULE="summarizer_project.settings.local")
    (tmp_path / "doc.txt").write_text(DOCUMENT, encoding="utf-8")
    out = run(manage("summarize", str(tmp_path / "doc.txt"), "--json"), served_env)
    summary = json.loads(out)
    assert (summary["model"], summary["model_version"]) == ("bertsumext", label), summary
    assert "lead3" not in summary["notes"] and len(summary["sentences"]) == 5
    assert not old.exists() and (new / "runs" / "run-1" / "best").is_dir()
