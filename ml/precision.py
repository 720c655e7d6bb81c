"""Mixed precision for training and inference: :func:`autocast_context`."""

from __future__ import annotations

import contextlib

import torch


def autocast_context(
    device: torch.device, precision: str
) -> contextlib.AbstractContextManager[None]:
    """Mixed precision: "fp32", "bf16", "fp16" (CUDA only) or "auto".

    "auto" is fp32 on CPU (bf16 is emulated without AVX512-BF16/AMX) and bf16 (or
    fp16 where bf16 is unsupported) on CUDA.
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
