"""The models and the migrations agree: the kinds' choices are built from
ml.registry.KINDS, so a kind added there needs a migration (one that alters only the
choices); this fails until it exists."""

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_no_model_change_lacks_a_migration():
    try:
        call_command("makemigrations", "--check", "--dry-run", verbosity=0)
    except SystemExit as exc:  # --check exits 1 when a migration is missing
        pytest.fail(f"a model change has no migration (makemigrations exited {exc.code})")
