"""Inference precisions: native bf16 is detected, not assumed; int8 quantizes the
encoder's Linear layers and still scores every sentence like fp32 does."""

import pytest
import torch
from torch import nn

from ml import precision
from ml.models.bertsumext.summarizer import Summarizer
from tests.ml.fixtures.bertsumext import tiny_checkpoint, toy_texts

FLAGS = "processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f {extra}\nbugs\t\t: none\n"


@pytest.mark.parametrize(
    ("extra", "native"),
    [("avx512_bf16", True), ("amx_bf16 amx_tile", True), ("avx512bw avx512vl", False)],
)
def test_native_bf16_is_read_from_the_cpu_flags(tmp_path, extra, native):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(FLAGS.format(extra=extra))
    assert precision.cpu_has_native_bf16(cpuinfo) is native


def test_no_cpuinfo_means_no_native_bf16(tmp_path):
    assert precision.cpu_has_native_bf16(tmp_path / "missing") is False


def test_bf16_on_a_cpu_without_native_bf16_serves_fp32(monkeypatch):
    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: False)
    assert precision.inference_precision("cpu", "bf16") == "fp32"
    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: True)
    assert precision.inference_precision("cpu", "bf16") == "bf16"


def test_auto_on_cpu_is_exact_and_serving_uses_the_measured_choice():
    assert precision.inference_precision("cpu", "auto") == "fp32"
    assert precision.serving_precision("cpu") == precision.SERVING_CPU_PRECISION == "int8"
    assert precision.inference_precision("cpu", "int8") == "int8"
    assert precision.inference_precision("cpu", "fp32") == "fp32"


def test_unknown_precisions_are_refused():
    with pytest.raises(ValueError, match="unknown precision 'int4'"):
        precision.inference_precision("cpu", "int4")
    with pytest.raises(ValueError, match="fp16 autocast needs CUDA"):
        precision.inference_precision("cpu", "fp16")


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return tiny_checkpoint(tmp_path_factory.mktemp("tiny") / "model")


def test_int8_quantizes_the_encoder_linear_layers_and_scores_close_to_fp32(checkpoint):
    fp32 = Summarizer.load(checkpoint, precision="fp32")
    int8 = Summarizer.load(checkpoint, precision="int8")
    quantized = torch.ao.nn.quantized.dynamic.Linear
    assert any(isinstance(m, quantized) for m in int8.model.encoder.modules())
    assert not any(type(m) is nn.Linear for m in int8.model.encoder.modules())
    assert int8.precision == "fp32"  # no autocast on top of int8
    texts = toy_texts(4)
    for a, b in zip(fp32.summarize(texts), int8.summarize(texts), strict=True):
        assert [s.text for s in a.sentences] == [s.text for s in b.sentences]
        for x, y in zip(a.sentences, b.sentences, strict=True):
            assert y.score == pytest.approx(x.score, abs=0.05)
