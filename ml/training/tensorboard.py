"""A run's TensorBoard views besides the loop's scalars: the model graph, weight and
gradient histograms, the embedding projector and the hparams.

Everything here is best effort for the views and exact for the data: a model that
cannot be traced gets a logged note instead of a graph, never a failed run.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

log = logging.getLogger(__name__)

# (model to trace, its tensor inputs): what ``add_graph`` gets.
GraphInputs = tuple[nn.Module, tuple[torch.Tensor, ...]]
# The HParams dashboard's metrics: the validation scalars the loop already writes, so
# the dashboard reads their values without one-point ``hparam/*`` scalar cards.
HPARAM_METRICS = (
    "validation/rouge",
    "validation/rouge1",
    "validation/rouge2",
    "validation/rougeLsum",
    "validation/loss",
)


def open_writer(log_dir: str | Path | None) -> Any:
    if log_dir is None:
        return None
    from torch.utils.tensorboard import SummaryWriter

    return SummaryWriter(log_dir=str(log_dir))


def log_graph(writer: Any, graph: Callable[[], GraphInputs] | None) -> bool:
    """The model graph, traced once on a small real batch; False (and a logged note)
    where tracing fails: the graph is a view, the run goes on without it."""
    if writer is None or graph is None:
        return False
    try:
        model, inputs = graph()
        was_training = model.training
        model.eval()
        try:
            # Traced here without torch's check (a second trace compared node by node,
            # which transformers' attention fails); a traced module is add_graph'd as is.
            # The graph is for reading, never run, so its Python-constant warnings go.
            with warnings.catch_warnings(), torch.no_grad():
                warnings.simplefilter("ignore")
                traced = torch.jit.trace(model, inputs, strict=False, check_trace=False)
                writer.add_graph(traced, inputs)
        finally:
            model.train(was_training)
    except Exception as exc:  # tracing raises anything from RuntimeError to TypeError
        log.warning("TensorBoard graph skipped: tracing the model failed: %s", exc)
        writer.add_text("graph", f"Graph skipped: tracing the model failed ({exc}).", 0)
        return False
    return True


def log_histograms(writer: Any, watched: Mapping[str, nn.Module], step: int) -> None:
    """Weights and gradients of the watched modules' parameters (``weights/<name>/...``,
    ``gradients/<name>/...``); a parameter without a gradient (frozen, or unused by this
    step) has no gradient histogram."""
    if writer is None:
        return
    for name, module in watched.items():
        for param_name, param in module.named_parameters():
            writer.add_histogram(f"weights/{name}/{param_name}", param.detach().float(), step)
            if param.grad is not None:
                writer.add_histogram(
                    f"gradients/{name}/{param_name}", param.grad.detach().float(), step
                )


def top_encoder_layer(encoder: nn.Module) -> nn.Module:
    """The last Transformer layer of a Hugging Face encoder (BERT, RoBERTa, DistilBERT
    ...): the last block of its longest layer list."""
    stacks = [m for m in encoder.modules() if isinstance(m, nn.ModuleList) and len(m)]
    if not stacks:
        return encoder
    return max(stacks, key=len)[-1]


def _cell(value: Any) -> str:
    # metadata.tsv is tab separated, one row per line.
    return " ".join(str(value).split())[:300]


def log_projector(
    writer: Any,
    vectors: torch.Tensor,
    rows: Sequence[Sequence[Any]],
    header: Sequence[str],
    step: int,
    tag: str = "validation_sentences",
) -> None:
    """An embedding projector of ``vectors`` (N, H) with one metadata row per vector."""
    if writer is None or not len(rows):
        return
    metadata = [[_cell(c) for c in row] for row in rows]
    writer.add_embedding(
        vectors.detach().float().cpu(),
        metadata=metadata,
        metadata_header=list(header),
        global_step=step,
        tag=tag,
    )


def close_writer(writer: Any, config: Any, model_config: dict[str, Any]) -> None:
    """The run's settings in the HParams dashboard, then close.

    ``SummaryWriter.add_hparams`` would also write every metric as a one-point scalar
    (sixteen cards above the loss charts); the hparams plugin's own summaries name the
    validation scalars as the metrics instead, so the dashboard shows their last values
    (the best validation's metrics and the baselines are in the run's result).
    """
    if writer is None:
        return
    from torch.utils.tensorboard.summary import hparams

    scalar = int | float | str | bool
    values = {k: v for k, v in config.to_dict().items() if isinstance(v, scalar)}
    values.update({f"model_{k}": v for k, v in model_config.items() if isinstance(v, scalar)})
    experiment, start, end = hparams(values, dict.fromkeys(HPARAM_METRICS, 0.0))
    file_writer = writer._get_file_writer()
    for summary in (experiment, start, end):
        file_writer.add_summary(summary)
    writer.close()
