"""Cached preparations are keyed by the sentence splitter's version too: a new splitter
never reuses features made from the old one's sentences."""

from ml.text import sentences
from ml.text.cache import examples_key
from ml.text.data import Example


def test_the_cache_key_changes_with_the_splitter_version(monkeypatch):
    examples = [Example(id="a", text="One. Two.", reference="One.")]
    before = examples_key({"k": 1}, examples)
    assert examples_key({"k": 1}, examples) == before
    monkeypatch.setattr(sentences, "SPLITTER_VERSION", sentences.SPLITTER_VERSION + 1)
    assert examples_key({"k": 1}, examples) != before
