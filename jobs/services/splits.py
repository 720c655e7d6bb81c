"""Dataset splits belong to staff: who may put a document into one, moving documents
between splits, and the split a newly staff-labelled document gets.

A document's split decides whether training runs learn from it (train) or judge by it
(validation, test). Only staff who may manage training data (``may_manage_training_data``:
the document change permission, the one the admin's actions need) set it; every other
client gets ``NotAllowed`` (the API's 403) and nothing is stored.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from ..models import Document, Split
from .errors import InvalidInput, NotAllowed
from .validation import validate_split

STAFF_ONLY_SPLIT = (
    "only staff with the permission to change documents can put a document into a "
    "dataset split (train, validation or test): send it without 'split', or ask staff "
    "to label it"
)
# The permission the admin's document actions (move between splits, label) require;
# superusers have every permission.
MANAGE_TRAINING_DATA_PERMISSION = "jobs.change_document"


def is_staff(user) -> bool:
    return bool(getattr(user, "is_staff", False))


def may_manage_training_data(user) -> bool:
    """Who may put documents into splits, move them, label them and see which texts are
    training data: staff with the document change permission (the admin's rule too)."""
    return is_staff(user) and user.has_perm(MANAGE_TRAINING_DATA_PERMISSION)


def check_may_set_split(user, splits: Iterable[str]) -> None:
    """Refuse a document with a split to anyone who may not manage training data;
    nothing is stored."""
    if any(splits) and not may_manage_training_data(user):
        raise NotAllowed(STAFF_ONLY_SPLIT, "split")


def hash_fraction(sha256: str) -> float:
    """The text's sha256 as a number in [0, 1): the same text, the same number."""
    return int(sha256[:15], 16) / 16**15


def labelled_split(sha256: str) -> str:
    """Where a newly staff-labelled document goes: validation for the fraction
    LABELLED_VALIDATION_FRACTION of texts (by content hash), train for the rest."""
    if hash_fraction(sha256) < settings.LABELLED_VALIDATION_FRACTION:
        return Split.VALIDATION
    return Split.TRAIN


def split_when_labelled(document: Document) -> str:
    """The split a labelled document is in or gets: its own; else the split a copy of
    its text is in (a text is never in two splits: it would be trained on and judged
    by); else the rule (``labelled_split``)."""
    if document.split:
        return document.split
    in_a_split = (
        Document.objects.filter(sha256=document.sha256)
        .exclude(split=Split.NONE)
        .order_by("pk")
        .values_list("split", flat=True)
        .first()
    )
    return in_a_split or labelled_split(document.sha256)


def place_labelled(document: Document) -> None:
    """Give the copies of a newly labelled text that have no split the document's
    (``split_when_labelled``). A copy with a reference summary of its own (a client may
    send one) is not placed: nobody reviewed that reference, and as the oldest copy it
    would be the one trained on."""
    split = split_when_labelled(document)
    unplaced = Document.objects.filter(sha256=document.sha256, split=Split.NONE)
    unplaced.filter(Q(pk=document.pk) | Q(reference_summary="")).update(split=split)
    if not document.split:
        document.split = split


@transaction.atomic
def move_to_split(documents: Iterable[Document], split: str, by) -> int:
    """Staff move documents to ``split`` ("" takes them out of every split)."""
    if not may_manage_training_data(by):
        raise NotAllowed(STAFF_ONLY_SPLIT, "split")
    validate_split(split)
    ids = [d.pk for d in documents]
    if not ids:
        raise InvalidInput("no documents to move")
    # Their copies already in a split move with them (a text in train and validation
    # would be trained on and judged by); copies in no split stay out.
    texts = Document.objects.filter(pk__in=ids).values("sha256")
    copies_in_splits = Q(sha256__in=texts) & ~Q(split=Split.NONE)
    moving = Document.objects.filter(Q(pk__in=ids) | copies_in_splits)
    return moving.exclude(split=split).update(split=split)
