"""The service serves a trained model in INFERENCE_PRECISION: "auto" is the measured
serving choice (int8 on CPU), "fp32" is exact; preloading fills this process's cache."""

import pytest
import torch

from jobs import engines
from ml.precision import SERVING_CPU_PRECISION
from tests.ml.fixtures.bertsumext import tiny_checkpoint

pytestmark = pytest.mark.django_db
QUANTIZED = torch.ao.nn.quantized.dynamic.Linear


@pytest.fixture
def served(settings, tmp_path, monkeypatch):
    settings.BERTSUMEXT_CHECKPOINT = str(tiny_checkpoint(tmp_path / "tiny"))
    settings.INFERENCE_DEVICE = "cpu"
    monkeypatch.setattr(engines, "_cache", {})  # this test's own process-wide cache
    return settings


def _quantized(system) -> bool:
    return any(isinstance(m, QUANTIZED) for m in system.model.encoder.modules())


def test_auto_serves_the_measured_cpu_precision(served):
    served.INFERENCE_PRECISION = "auto"
    system = engines.get_system(engines.resolve("bertsumext"))
    assert _quantized(system) is (SERVING_CPU_PRECISION == "int8")


def test_fp32_serves_the_model_as_trained(served):
    served.INFERENCE_PRECISION = "fp32"
    system = engines.get_system(engines.resolve("bertsumext"))
    assert not _quantized(system)


def test_preload_loads_the_default_model_and_get_system_reuses_it(served):
    served.INFERENCE_PRECISION = "fp32"
    resolved = engines.preload()
    assert resolved is not None and resolved.kind == "bertsumext"
    assert engines.loaded() == ["bertsumext"]
    assert engines.get_system(engines.resolve("")) is engines._cache["bertsumext"][1]


def test_with_no_trained_version_preload_loads_the_zero_label_default_and_its_splitters(
    settings, monkeypatch
):
    """What serves meanwhile is loaded before the fork, with what its first summary
    would load (Kiwi ~5 s, ROUGE's tokenizer ~2 s), so no process pays that."""
    from ml.text import rouge, sentences
    from ml.text.zero_label import ZeroLabel

    settings.BERTSUMEXT_CHECKPOINT = ""
    monkeypatch.setattr(engines, "_cache", {})
    for loader in (sentences._kiwi, sentences._punkt_tokenizer, rouge._tokenizer):
        loader.cache_clear()
    resolved = engines.preload()
    assert resolved == engines.resolve("") and resolved.kind == "default"
    assert engines.loaded() == ["default"]
    system = engines._cache["default"][1]
    assert isinstance(system, ZeroLabel)
    assert system.params.max_graph_sentences == settings.MAX_DOCUMENT_SENTENCES
    assert engines.get_system(engines.resolve("")) is system
    assert sentences._kiwi.cache_info().currsize == 1
    assert sentences._punkt_tokenizer.cache_info().currsize == 1
    assert rouge._tokenizer.cache_info().currsize == 1


def test_without_a_trained_model_the_default_kind_resolves_to_the_zero_label_scorer(settings):
    from ml.text.zero_label import ZeroLabel

    settings.BERTSUMEXT_CHECKPOINT = ""
    resolved = engines.resolve("")
    assert resolved.kind == "default" and "zero-label default" in resolved.note
    system = engines._load(resolved)
    assert isinstance(system, ZeroLabel)
    assert system.params.max_graph_sentences == settings.MAX_DOCUMENT_SENTENCES
    assert engines.resolve("default") == engines.Resolved("default", "builtin")
    assert engines.resolve("lead3").kind == "lead3" and engines.is_available("textrank")
    assert "default" in engines.available_kinds()


# --- languages (issue #23) ---------------------------------------------------------------


def test_a_document_in_a_language_the_encoder_does_not_read_goes_to_the_fallback(served):
    resolved = engines.resolve("bertsumext")
    assert engines.for_language(resolved, "en") is resolved
    fallback = engines.for_language(resolved, "ko")
    assert fallback.kind == engines.fallback_kind() == "default"
    assert fallback.checkpoint == ""
    assert "Korean ('ko')" in fallback.note
    assert "'all-MiniLM-L6-v2'" in fallback.note
    assert f"served by the {fallback.kind} model" in fallback.note
    # A baseline has no encoder: it serves every language.
    lead = engines.resolve("lead3")
    assert engines.for_language(lead, "ko") is lead


def test_the_synchronous_path_falls_back_too(served):
    from jobs.services.summaries import summarize_text
    from tests.ml.fixtures.korean import korean_text

    served.INFERENCE_PRECISION = "fp32"
    result, resolved = summarize_text(korean_text(), "bertsumext", 2)
    assert resolved.kind == "default" and "Korean" in resolved.note
    assert len(result.sentences) == 6 and sum(s.selected for s in result.sentences) == 2


def test_the_trainable_choices_are_the_kinds_ml_train_trains():
    """jobs.models.TrainableKind is built from the registry's TRAINED kinds; each must
    have the architecture ``python -m ml train`` needs (the database choices follow the
    table by construction, the migration state by tests/jobs/models/test_migrations.py)."""
    from jobs.models import TrainableKind
    from ml.registry import trainable_kinds

    assert TrainableKind.values == list(trainable_kinds())


def test_a_served_only_kind_is_one_registry_entry_and_one_loader(monkeypatch):
    """engines serves a kind by its table entry alone: no branch names a kind."""
    from ml.registry import BUILTIN, KINDS, Kind

    monkeypatch.setitem(
        KINDS, "first", Kind("first", "First sentence", BUILTIN, __name__ + ":_first")
    )
    monkeypatch.setattr(engines, "_cache", {})
    assert engines.is_available("first") and "first" in engines.available_kinds()
    system, resolved = engines.serve("first")
    assert (resolved.kind, resolved.version_label) == ("first", "builtin")
    (summary,) = system.summarize(["One. Two. Three."], max_sentences=1)
    assert [s.text for s in summary.selected] == ["One."]


def _first(model, options):
    from ml.text.baselines import Lead

    return Lead(1)
