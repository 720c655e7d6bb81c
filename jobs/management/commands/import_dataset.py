"""python manage.py import_dataset PATH [--split train|validation|test] [--owner NAME]"""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from jobs.models import Split
from jobs.services.documents import import_examples
from jobs.services.errors import InvalidInput


class Command(BaseCommand):
    help = (
        "Import documents with reference summaries from JSON Lines "
        "({article|text, highlights|reference_summary, id?}), a CNN/DM .story folder, or CSV."
    )

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--split", default=Split.TRAIN, choices=Split.values[1:])
        parser.add_argument(
            "--owner", default=None, help="username that owns the documents (default: first staff)"
        )
        parser.add_argument("--limit", type=int, default=None)

    def handle(self, *args, path, split, owner, limit, **options):
        from ml.text.data import load_examples

        User = get_user_model()
        if owner:
            user = User.objects.filter(username=owner).first()
            if user is None:
                raise CommandError(f"no user named '{owner}'")
        else:
            user = User.objects.filter(is_staff=True).order_by("pk").first()
            if user is None:
                raise CommandError("no staff user exists; create one or pass --owner")
        try:
            examples = load_examples(path, limit=limit)
        except (OSError, ValueError) as exc:
            raise CommandError(f"cannot read {path}: {exc}") from exc
        try:
            created, skipped = import_examples(user, examples, split)
        except InvalidInput as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"imported {created} documents into split '{split}' for {user.username}"
                f" ({skipped} skipped: empty or already present)"
            )
        )
