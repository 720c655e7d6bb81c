"""python manage.py summarize FILE [--model M] [--max-sentences N] [--json]"""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from jobs import engines
from jobs.api.uploads import read_upload
from jobs.models import JobStatus, ModelKind, Summary
from jobs.services.errors import InvalidInput
from jobs.services.summaries import summarize_text


class Command(BaseCommand):
    help = "Summarize one document synchronously and print the selected sentences."

    def add_arguments(self, parser):
        parser.add_argument("file", help="a .txt, .md or .html file (UTF-8), or - for stdin")
        parser.add_argument("--model", default="", choices=["", *ModelKind.values])
        parser.add_argument("--max-sentences", type=int, default=3)
        parser.add_argument("--json", action="store_true", help="print every sentence as JSON")

    def handle(self, *args, file, model, max_sentences, json: bool, **options):
        if file == "-":
            import sys

            name, data = "stdin.txt", sys.stdin.buffer.read()
        else:
            path = Path(file)
            if path.is_dir():
                raise CommandError(f"{file} is a directory: give one file (or - for stdin)")
            if not path.is_file():
                raise CommandError(f"no such file: {file}")
            name, data = path.name, path.read_bytes()
        try:
            _title, text = read_upload(name, data)
            result, resolved = summarize_text(text, model, max_sentences, on_loading=self._loading)
        except (InvalidInput, engines.ModelUnavailable) as exc:
            raise CommandError(str(exc)) from exc
        if json:
            self.stdout.write(_as_json(result, resolved, max_sentences))
            return
        if resolved.note:
            self.stderr.write(resolved.note)
        self.stdout.write(f"model: {resolved.kind} ({resolved.version_label})")
        for s in result.selected:
            self.stdout.write(f"[{s.index}] ({s.score:.3f}) {s.text}")
        if not result.sentences:  # abstractive: generated text, no source sentences
            self.stdout.write(result.text)

    def _loading(self, resolved) -> None:
        # On stderr, so `--json` output stays one JSON object.
        self.stderr.write(f"loading model {resolved.kind} ({resolved.version_label}) …")
        self.stderr.flush()


def _as_json(result, resolved, max_sentences: int) -> str:
    """The API's summary shape (its serializer): nothing is stored, so id, document and
    the timestamps are null."""
    from jobs.api.serializers import SummarySerializer

    summary = Summary(
        status=JobStatus.SUCCEEDED,
        model=resolved.kind,
        model_version=resolved.version_label,
        max_sentences=max_sentences,
        attempts=1,
        sentences=[
            {
                "index": s.index,
                "text": s.text,
                "start": s.start,
                "end": s.end,
                "score": s.score,
                "selected": bool(s.selected),
            }
            for s in result.sentences
        ],
        summary_text=result.text,
        notes="\n".join(n for n in [resolved.note, *result.notes] if n),
    )
    return json.dumps(SummarySerializer(summary).data, ensure_ascii=False, indent=2)
