"""Mixed precision for training and inference: :func:`autocast_context`, and the
inference precisions (:func:`inference_precision`, :func:`prepare_for_inference`)."""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path

import torch
from torch import nn

logger = logging.getLogger(__name__)

# What a served model may run in. "int8": dynamic quantization of the encoder's
# Linear layers (weights int8, activations quantized per batch; CPU only).
INFERENCE_PRECISIONS = ("auto", "fp32", "bf16", "int8")
# What a service serves on CPU (:func:`serving_precision`): the fastest precision within
# 0.1 ROUGE-1 of fp32, measured by bench.serving_precision on test.jsonl (BENCHMARKS.md,
# "Serving precision"): int8 2.5x fp32, bf16 2.1x (AVX512-BF16), ROUGE-1 +0.10 / +0.03.
SERVING_CPU_PRECISION = "int8"
_NATIVE_BF16_FLAGS = ("avx512_bf16", "amx_bf16")


def cpu_has_native_bf16(cpuinfo: str | Path = "/proc/cpuinfo") -> bool:
    """Whether the CPU computes bf16 natively (AVX512-BF16 or AMX-BF16). Without either
    oneDNN emulates bf16 and autocast is slower than fp32. False where unknown."""
    try:
        text = Path(cpuinfo).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    flags = next(
        (line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")),
        [],
    )
    return any(flag in flags for flag in _NATIVE_BF16_FLAGS)


def serving_precision(device: torch.device | str) -> str:
    """The measured best precision for serving on ``device``: SERVING_CPU_PRECISION on
    CPU, "auto" (bf16, or fp16 without bf16) on CUDA."""
    return "auto" if torch.device(device).type == "cuda" else SERVING_CPU_PRECISION


def inference_precision(device: torch.device | str, precision: str) -> str:
    """The precision a model runs in on ``device``: "fp32", "bf16", "fp16" or "int8".

    "auto" is bf16 (fp16 without bf16) on CUDA and fp32 on CPU (exact scores unless a
    caller asks otherwise; a service asks :func:`serving_precision`); bf16 on a CPU
    without native bf16 and int8 on CUDA fall back to fp32 (logged)."""
    device = torch.device(device)
    if precision not in (*INFERENCE_PRECISIONS, "fp16"):
        raise ValueError(f"unknown precision {precision!r} ({', '.join(INFERENCE_PRECISIONS)})")
    if device.type == "cuda":
        if precision == "auto":
            return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        if precision == "int8":
            logger.warning("int8 (dynamic quantization) is CPU-only; serving fp32 on CUDA")
            return "fp32"
        return precision
    if precision == "auto":
        return "fp32"
    if precision == "bf16" and not cpu_has_native_bf16():
        logger.warning("this CPU has no native bf16 (avx512_bf16/amx_bf16); serving fp32")
        return "fp32"
    if precision == "fp16":
        raise ValueError("fp16 autocast needs CUDA; use bf16 on CPU")
    return precision


def quantize_int8(encoder: nn.Module) -> nn.Module:
    """``encoder`` with its Linear layers dynamically quantized to int8 (CPU)."""
    import warnings

    from torch.ao.quantization import quantize_dynamic

    with warnings.catch_warnings():  # torch deprecates the API in favour of torchao
        warnings.simplefilter("ignore", category=DeprecationWarning)
        warnings.simplefilter("ignore", category=UserWarning)
        quantized: nn.Module = quantize_dynamic(encoder, {nn.Linear}, dtype=torch.qint8)
    return quantized


def prepare_for_inference(model: nn.Module, device: torch.device | str, precision: str) -> str:
    """Resolve ``precision`` for ``device``; for int8 quantize ``model.encoder`` in place.
    Returns what :func:`autocast_context` gets at each forward pass."""
    resolved = inference_precision(device, precision)
    if resolved != "int8":
        return resolved
    encoder = model.encoder
    assert isinstance(encoder, nn.Module)
    model.encoder = quantize_int8(encoder)
    return "fp32"


def autocast_context(
    device: torch.device, precision: str
) -> contextlib.AbstractContextManager[None]:
    """Mixed precision: "fp32", "bf16", "fp16" (CUDA only) or "auto".

    "auto" is fp32 on CPU (training: bf16 autocast was not faster on these CPUs,
    BENCHMARKS.md) and bf16 (or fp16 where bf16 is unsupported) on CUDA.
    """
    if precision == "auto":
        if device.type != "cuda":
            precision = "fp32"
        else:
            precision = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    if precision == "fp32":
        return contextlib.nullcontext()
    if precision == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    if precision == "fp16":
        if device.type != "cuda":
            raise ValueError("fp16 autocast needs CUDA; use bf16 on CPU")
        return torch.autocast("cuda", dtype=torch.float16)
    raise ValueError(f"unknown precision {precision!r} (fp32, bf16, fp16 or auto)")
