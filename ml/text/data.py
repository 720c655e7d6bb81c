"""Reading documents with reference summaries: JSON Lines, CSV and CNN/DM ``.story`` folders.

Every reader returns :class:`Example` objects, and every malformed input raises
``ValueError`` naming the file and the line (or row) at fault, so that callers
(the CLI, ``manage.py import_dataset``) can report it without a traceback.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TEXT_KEYS = ("article", "text")
REFERENCE_KEYS = ("highlights", "reference_summary")

# See et al. (2017) / HF cnn_dailymail: a line without one of these endings gets " .".
_END_TOKENS = (".", "!", "?", "...", "'", "`", '"', "\u2019", "\u201d", ")")


@dataclass
class Example:
    """A document, its reference summary (sentences separated by ``"\\n"``) and label overrides.

    ``labels`` maps sentence index -> 0/1 for sentences whose oracle label staff
    corrected; ``None`` means: use the oracle labels. A document staff labelled
    without a reference is built with :meth:`from_labels`.
    """

    id: str
    text: str
    reference: str = ""
    labels: dict[int, int] | None = None

    @classmethod
    def from_labels(
        cls, id: str, text: str, labels: Mapping[int, int], language: str | None = None
    ) -> Example:
        """A document with explicit labels and no reference summary: every sentence gets
        its label (0 where none is given), and the sentences labelled 1, joined by
        newlines, stand in as the reference for validation ROUGE and the gate.

        The labels index the sentences of :func:`ml.text.sentences.split_sentences`
        (``language`` as the document's); indexes past the text's end are dropped.
        """
        from ml.text.sentences import split_sentences

        sentences = [s.text for s in split_sentences(text, language=language or None)]
        full = {i: 1 if labels.get(i) else 0 for i in range(len(sentences))}
        reference = "\n".join(sentences[i] for i, label in full.items() if label)
        return cls(id=id, text=text, reference=reference, labels=full)


def stable_id(text: str) -> str:
    """An id for a document that came without one: sha1 of its text, like CNN/DM's ids."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def example_from_record(record: Mapping[str, Any], where: str) -> Example:
    """Build an Example from one JSON/CSV record; ``where`` names it in errors."""
    text_key = next((k for k in TEXT_KEYS if k in record), None)
    if text_key is None:
        raise ValueError(f"{where}: missing text (expected a key {' or '.join(TEXT_KEYS)!r})")
    text = record[text_key]
    if not isinstance(text, str):
        raise ValueError(f"{where}: {text_key!r} must be a string, got {type(text).__name__}")
    if not text.strip():
        raise ValueError(f"{where}: {text_key!r} is empty")
    reference_key = next((k for k in REFERENCE_KEYS if k in record), None)
    reference = record[reference_key] if reference_key else ""
    if reference is None:
        reference = ""
    if not isinstance(reference, str):
        raise ValueError(f"{where}: {reference_key!r} must be a string")
    raw_id = record.get("id")
    if raw_id is not None and not isinstance(raw_id, str | int):
        raise ValueError(f"{where}: 'id' must be a string or an integer")
    doc_id = str(raw_id) if raw_id not in (None, "") else stable_id(text)
    return Example(id=doc_id, text=text, reference=reference, labels=_parse_labels(record, where))


def _parse_labels(record: Mapping[str, Any], where: str) -> dict[int, int] | None:
    raw = record.get("labels")
    if raw is None or raw == "":
        return None
    if not isinstance(raw, dict):
        raise ValueError(f"{where}: 'labels' must be an object {{sentence index: 0 or 1}}")
    labels: dict[int, int] = {}
    for key, value in raw.items():
        try:
            index = int(key)
        except ValueError:
            raise ValueError(f"{where}: label key {key!r} is not a sentence index") from None
        if index < 0 or value not in (0, 1) or isinstance(value, bool):
            raise ValueError(f"{where}: label {key!r}: {value!r} must be 0 or 1 at index >= 0")
        labels[index] = int(value)
    return labels


def load_jsonl(path: str | Path, limit: int | None = None) -> list[Example]:
    """Read JSON Lines ``{article|text, highlights|reference_summary, id?, labels?}``.

    Blank lines are skipped.
    """
    path = Path(path)
    examples: list[Example] = []
    with path.open(encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, start=1):
            if limit is not None and len(examples) >= limit:
                break
            if not line.strip():
                continue
            where = f"{path}, line {line_number}"
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(f"{where}: invalid JSON ({error.msg})") from None
            if not isinstance(record, dict):
                raise ValueError(f"{where}: expected a JSON object, got {type(record).__name__}")
            examples.append(example_from_record(record, where))
    return examples


def load_csv(path: str | Path, limit: int | None = None) -> list[Example]:
    """Read a CSV file with a header row naming the same columns as the JSON Lines reader."""
    path = Path(path)
    examples: list[Example] = []
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or not set(TEXT_KEYS) & set(reader.fieldnames):
            raise ValueError(
                f"{path}: the header row must name a text column ({' or '.join(TEXT_KEYS)})"
            )
        for record in reader:
            if limit is not None and len(examples) >= limit:
                break
            where = f"{path}, line {reader.line_num}"
            if None in record:
                raise ValueError(f"{where}: more fields than the header names")
            labels = record.pop("labels", None)
            parsed: dict[str, Any] = dict(record)
            if labels:
                try:
                    parsed["labels"] = json.loads(labels)
                except json.JSONDecodeError:
                    raise ValueError(f"{where}: 'labels' must be a JSON object") from None
            examples.append(example_from_record(parsed, where))
    return examples


def fix_missing_period(line: str) -> str:
    """CNN/DM normalisation: append ``" ."`` to a line without final punctuation."""
    return line if line.endswith(_END_TOKENS) else line + " ."


def parse_story(content: str) -> tuple[str, str]:
    """Split a ``.story`` file into (article, highlights) with the CNN/DM normalisation.

    Non-empty lines before the first ``@highlight`` form the article (joined with
    a space); each non-empty line after an ``@highlight`` is one reference
    sentence (joined with ``"\\n"``).
    """
    article: list[str] = []
    highlights: list[str] = []
    in_highlights = False
    expecting_highlight = False
    for raw in content.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("@highlight"):
            in_highlights = expecting_highlight = True
            continue
        if not in_highlights:
            article.append(fix_missing_period(line))
        elif expecting_highlight:
            highlights.append(fix_missing_period(line))
            expecting_highlight = False
    return " ".join(article), "\n".join(highlights)


def load_story_dir(path: str | Path, limit: int | None = None) -> list[Example]:
    """Read every ``*.story`` file of a folder (sorted by name); the id is the file stem."""
    path = Path(path)
    if not path.is_dir():
        raise ValueError(f"{path}: not a directory")
    files = sorted(path.glob("*.story"))
    if not files:
        raise ValueError(f"{path}: no .story files")
    examples: list[Example] = []
    for file in files[:limit] if limit is not None else files:
        try:
            article, highlights = parse_story(file.read_text(encoding="utf-8"))
        except UnicodeDecodeError:
            raise ValueError(f"{file}: not UTF-8 text") from None
        if not article:
            raise ValueError(f"{file}: no article text before the first @highlight")
        examples.append(Example(id=file.stem, text=article, reference=highlights))
    return examples


def load_examples(path: str | Path, limit: int | None = None) -> list[Example]:
    """Read examples from ``.jsonl``/``.json``, ``.csv``, or a folder of ``.story`` files.

    Raises FileNotFoundError for a missing path and ValueError for anything malformed.
    """
    path = Path(path)
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be >= 0, got {limit}")
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or directory")
    if path.is_dir():
        return load_story_dir(path, limit)
    suffix = path.suffix.lower()
    try:
        if suffix in (".jsonl", ".json", ".ndjson"):
            return load_jsonl(path, limit)
        if suffix == ".csv":
            return load_csv(path, limit)
        if suffix == ".story":
            article, highlights = parse_story(path.read_text(encoding="utf-8"))
            return [Example(id=path.stem, text=article, reference=highlights)][:limit]
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not UTF-8 text") from None
    raise ValueError(
        f"{path}: unknown format {suffix or '(no suffix)'!r}; expected .jsonl, .csv, "
        ".story or a folder of .story files"
    )


def iter_batches(items: list[Any], size: int) -> Iterator[list[Any]]:
    """Consecutive slices of ``items`` of at most ``size``."""
    if size <= 0:
        raise ValueError(f"batch size must be positive, got {size}")
    for start in range(0, len(items), size):
        yield items[start : start + size]
