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


def test_preload_skips_a_baseline_default(settings, monkeypatch):
    settings.BERTSUMEXT_CHECKPOINT = ""
    monkeypatch.setattr(engines, "_cache", {})
    assert engines.preload() is None
    assert engines.loaded() == []


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
