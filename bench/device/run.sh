#!/usr/bin/env bash
# On a bare GPU machine (python3 with torch + transformers, no network): unpack .gpu/
# (made by bench/device/pack.sh) once, then run python -m bench.train_bertsumext with the
# given arguments (add --device cuda --precision bf16). Results land in
# $OUT/$NAME.json (NAME defaults to "results"), the log in $OUT/$NAME.log.
set -euo pipefail
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
OUT=${OUT:-/tmp/device-out}
NAME=${NAME:-results}
PY=${PY:-python3}
work=/tmp/summarizer-device
export PYTHONPATH="$work/site${PYTHONPATH:+:$PYTHONPATH}"
if [ ! -e "$work/minilm/model.safetensors" ]; then
    mkdir -p "$OUT" "$work/site" "$work/cnndm"
    tar -C "$work/site" -xJf .gpu/site.tar.xz
    tar -C "$work/cnndm" -xJf .gpu/data.tar.xz
    cp -r .gpu/minilm "$work/minilm.tmp"
    "$PY" - "$work/minilm.tmp/model.safetensors" <<'PY'
import sys
from safetensors.torch import load_file, save_file
path = sys.argv[1]
save_file({k: v.float() for k, v in load_file(path).items()}, path)
PY
    mv "$work/minilm.tmp" "$work/minilm"
    "$PY" -c 'import torch, transformers; print("torch", torch.__version__, "transformers",
transformers.__version__, "cuda", torch.cuda.is_available() and torch.cuda.get_device_name())'
fi
mkdir -p "$OUT"
set +e
"$PY" -m bench.train_bertsumext --encoder "$work/minilm" --data "$work/cnndm" \
    --out "$work/$NAME" --cache "$work/cache" --no-resume "$@" > "$OUT/$NAME.log" 2>&1
rc=$?
cp "$work/$NAME/results.json" "$OUT/$NAME.json" 2>/dev/null
grep -E "throughput|training done|test |Error|error" "$OUT/$NAME.log" | cut -c1-400
if [ "$rc" = 0 ] && [ -n "${SELECTION_SECONDS:-}" ]; then  # optional: python -m bench.selection_rules
    device=$("$PY" -c 'import torch; print("cuda" if torch.cuda.is_available() else "cpu")')
    timeout "$SELECTION_SECONDS" "$PY" -m bench.selection_rules --system "$work/$NAME/best" \
        --data "$work/cnndm" --device "$device" --out "$OUT/selection_rules" ${SELECTION_ARGS:-}
fi
exit "$rc"
