"""The table of kinds: every kind has a loader and says what it can do."""

from ml.registry import (
    ANY_LANGUAGE,
    ARCHITECTURES,
    BUILTIN,
    FALLBACK_KIND,
    KINDS,
    MEASURED,
    PRETRAINED,
    TRAINED,
    ServingOptions,
    trainable_kinds,
)
from tests.factories import ARTICLE

OPTIONS = ServingOptions(device="cpu", precision="fp32", max_graph_sentences=500)


def test_every_kind_says_where_its_model_comes_from_and_what_it_reads():
    assert list(KINDS) == ["bertsumext", "matchsum", "lead3", "textrank", "default", "abstractive"]
    for kind in KINDS.values():
        assert kind.source in (BUILTIN, TRAINED, PRETRAINED)
        assert kind.trainable is (kind.architecture is not None) is (kind.source == TRAINED)
        # Trained checkpoints are measured per encoder; the rest read any language.
        assert kind.languages == (MEASURED if kind.trainable else ANY_LANGUAGE)
        assert kind.extractor is None or KINDS[kind.extractor].trainable
    assert trainable_kinds() == tuple(ARCHITECTURES) == ("bertsumext", "matchsum")
    assert KINDS[FALLBACK_KIND].source == BUILTIN  # the fallback always serves


def test_the_built_in_kinds_load_with_no_model_and_summarize():
    for kind in (k for k in KINDS.values() if k.source == BUILTIN):
        system = kind.load("", OPTIONS)
        (summary,) = system.summarize([ARTICLE], max_sentences=2)
        assert sum(s.selected for s in summary.sentences) == 2, kind.name


def test_a_kind_whose_setting_names_nothing_is_not_located(tmp_path):
    for kind in KINDS.values():
        assert not kind.locates("")
    assert KINDS["bertsumext"].locates(str(tmp_path))  # an operator-provided directory
    assert not KINDS["bertsumext"].locates(str(tmp_path / "missing"))
