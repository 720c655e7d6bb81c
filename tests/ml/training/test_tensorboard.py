"""A run's TensorBoard directory, read back with TensorBoard's own readers: the graph,
weight and gradient histograms, the embedding projector with its metadata, and hparams
in the HParams dashboard only (no one-point scalar cards)."""

import csv

import pytest
import torch
from google.protobuf import text_format
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2
from tensorboard.plugins.projector.projector_config_pb2 import ProjectorConfig
from torch import nn

from ml.models.bertsumext.tensorboard import outcome
from ml.models.bertsumext.train import train
from ml.training.tensorboard import HPARAM_METRICS, log_graph, open_writer, top_encoder_layer
from tests.ml.fixtures.bertsumext import tiny_train_config, toy_examples

EXAMPLES = toy_examples(6, seed=3)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tb")
    config = tiny_train_config(max_steps=4, eval_every=2, projector_documents=2)
    result = train(config, EXAMPLES, EXAMPLES[:3], tmp / "out", tmp / "tb")
    events = EventAccumulator(
        str(tmp / "tb"), size_guidance={"histograms": 0, "tensors": 0, "scalars": 0}
    ).Reload()
    return result, events, tmp / "tb"


def test_the_graph_is_logged_once(run):
    _, events, _ = run
    graph = events.Graph()
    names = [node.name for node in graph.node]
    assert len(names) > 50  # the traced encoder + head, not a stub
    assert any("classifier" in name for name in names)


def test_weight_and_gradient_histograms_of_head_and_top_layer_at_each_validation(run):
    _, events, _ = run
    tags = set(events.Tags()["histograms"])
    for tag in (
        "weights/head/classifier.weight",
        "gradients/head/classifier.weight",
        "weights/encoder_top/attention.self.query.weight",
        "gradients/encoder_top/output.dense.weight",
    ):
        assert tag in tags
        assert [e.step for e in events.Histograms(tag)] == [2, 4]
    grads = events.Histograms("gradients/head/classifier.weight")
    assert grads[-1].histogram_value.max > grads[-1].histogram_value.min  # real gradients
    # Only the head and the top encoder layer (layer 1 of 2), not the whole encoder.
    assert not any("embeddings" in t or "layer.0" in t for t in tags)


def test_hparams_are_only_in_the_hparams_dashboard(run):
    _, events, _ = run
    scalars = events.Tags()["scalars"]
    assert not [t for t in scalars if t.startswith("hparam")]
    assert set(HPARAM_METRICS) <= set(scalars)  # the metrics it names are real scalars
    content = events.PluginTagToContent("hparams")
    experiment = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/experiment"])
    metrics = {m.name.tag for m in experiment.experiment.metric_infos}
    assert metrics == set(HPARAM_METRICS)
    hparams = {h.name for h in experiment.experiment.hparam_infos}
    assert {"lr", "max_steps", "model_sentence_pooling"} <= hparams
    assert "_hparams_/session_start_info" in content and "_hparams_/session_end_info" in content


def test_the_projector_has_validation_sentences_with_their_metadata(run):
    result, _, logdir = run
    config = ProjectorConfig()
    text_format.Parse((logdir / "projector_config.pbtxt").read_text(), config)
    assert [e.tensor_name for e in config.embeddings] == [
        "validation_sentences:00002",
        "validation_sentences:00004",
    ]
    # The best validation's embedding: its metadata is that validation's predictions.
    best = int(result.metrics["best_step"])
    last = next(e for e in config.embeddings if e.tensor_name.endswith(f":{best:05d}"))
    with open(logdir / last.metadata_path, newline="") as f:
        rows = list(csv.reader(f, delimiter="\t"))
    header, rows = rows[0], rows[1:]
    assert header == ["document", "sentence", "text", "label", "probability", "outcome"]
    vectors = (logdir / last.tensor_path).read_text().splitlines()
    assert len(vectors) == len(rows) > 0
    assert len(vectors[0].split("\t")) == 32  # the tiny encoder's hidden size
    assert result.validation is not None
    expected = [
        [
            d.id,
            str(s.index),
            s.text,
            str(s.label),
            f"{s.probability:.4f}",
            outcome(s.label, s.selected),
        ]
        for d in result.validation.documents[:2]
        for s in d.sentences
    ]
    assert rows == expected
    assert {r[5] for r in rows} <= {"TP", "FP", "FN", "TN"} and "FP" in {r[5] for r in rows}


def test_a_model_that_cannot_be_traced_gets_a_note_not_a_failed_run(tmp_path, caplog):
    class Untraceable(nn.Module):
        def forward(self, x):
            raise RuntimeError("cannot trace this")

    writer = open_writer(tmp_path)
    assert not log_graph(writer, lambda: (Untraceable(), (torch.zeros(1),)))
    writer.close()
    assert "TensorBoard graph skipped" in caplog.text
    events = EventAccumulator(str(tmp_path), size_guidance={"tensors": 0}).Reload()
    assert "graph/text_summary" in events.Tags()["tensors"]


def test_top_encoder_layer_is_the_last_block():
    from tests.ml.fixtures.encoders import tiny_bert_encoder

    encoder, _ = tiny_bert_encoder(num_layers=3)
    assert top_encoder_layer(encoder) is encoder.encoder.layer[2]
