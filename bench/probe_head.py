"""Experiment: BertSumExt's head trained on frozen encoder sentence vectors.

Encodes every training window once with the pretrained encoder (no gradients),
caches the pooled sentence vectors, then trains only the inter-sentence head for
several epochs, validating ROUGE after each against Lead-3 on the same documents.
It answers two questions cheaply: how far a frozen all-MiniLM-L6-v2 gets, and
whether a trained head is a better start for fine-tuning than a random one
("linear probing then fine-tuning"); ``--save DIR`` writes the encoder with the
best head as a checkpoint that ``python -m bench.train_bertsumext --init-from DIR`` uses.

    .venv/bin/python -m bench.probe_head --epochs 8 --save var/bench/probe
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import torch

from bench.common import DATA, ROOT, log
from ml.encoders import load_tokenizer
from ml.evaluate import evaluate
from ml.models.bertsumext.checkpoint import save_pretrained
from ml.models.bertsumext.config import BertSumExtConfig
from ml.models.bertsumext.features import cached_features, document_windows
from ml.models.bertsumext.model import BertSumExt
from ml.models.bertsumext.probe import encode_windows, head_batch, train_head
from ml.models.bertsumext.train import training_windows
from ml.text.baselines import Lead
from ml.text.data import load_examples
from ml.text.rouge import mean_scores, score_summary
from ml.text.selection import select_sentences


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", default=str(DATA))
    p.add_argument("--cache", default=str(ROOT / "var" / "cache" / "bertsumext"))
    p.add_argument("--val-limit", type=int, default=500)
    p.add_argument("--train-limit", type=int, default=None)
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--sentence-pooling", choices=("cls", "mean"), default="mean")
    p.add_argument("--save", default=None, help="write encoder + best head here")
    return p.parse_args()


def val_rouge(head: Any, val_docs: list, val_data: list, val_windows: list, val_vecs: list) -> dict:
    """ROUGE of the head's top-3 summaries on the validation documents."""
    head.eval()
    probs: list[list[float | None]] = [[None] * len(d.spans) for d in val_docs]
    with torch.no_grad():
        for i in range(0, len(val_windows), 64):
            chunk = list(range(i, min(i + 64, len(val_windows))))
            inputs = head_batch([val_windows[j] for j in chunk], val_vecs, chunk)
            p_ = torch.sigmoid(head(*inputs[:3]))
            for r, j in enumerate(chunk):
                w = val_windows[j]
                doc = val_docs[w.doc]
                for k in range(w.score_from, len(w.cls_positions)):
                    probs[w.doc][doc.scored[w.sentences[k]]] = float(p_[r, k])
    head.train()
    scores = []
    for doc, ex, pr in zip(val_docs, val_data, probs, strict=True):
        sents = [ex.text[s:e] for s, e in doc.spans]
        chosen = select_sentences(sents, pr, 3)
        scores.append(score_summary([sents[i] for i in chosen], ex.reference))
    return mean_scores(scores).as_dict()


def main() -> int:
    args = parse_args()
    torch.manual_seed(1)  # the head's initialisation

    data = Path(args.data)
    train_data = load_examples(data / "train.jsonl", limit=args.train_limit)
    val_data = load_examples(data / "validation.jsonl", limit=args.val_limit)
    cfg = BertSumExtConfig(attention_dropout=0.0, sentence_pooling=args.sentence_pooling)
    tokenizer = load_tokenizer(cfg.encoder)
    model = BertSumExt.from_pretrained_encoder(cfg)
    cfg = model.config
    pad_id = int(tokenizer.pad_token_id or 0)

    docs = cached_features(train_data, tokenizer, cfg, True, args.cache)
    windows, _ = training_windows(docs, tokenizer, cfg, "all")
    val_docs = cached_features(val_data, tokenizer, cfg, False, args.cache)
    val_windows = [
        w
        for i, d in enumerate(val_docs)
        if d.scored
        for w in document_windows(d, i, tokenizer, cfg, "windows")
    ]
    start = time.perf_counter()
    train_vecs = encode_windows(model, windows, pad_id)
    log(f"encoded {len(windows)} train windows in {time.perf_counter() - start:.0f}s")
    val_vecs = encode_windows(model, val_windows, pad_id)
    log(f"encoded {len(val_windows)} validation windows")
    lead = evaluate(Lead(), val_data)
    log(f"lead-3 on {len(val_data)} validation docs: {lead.as_dict()}")

    head = model.head
    history: list[dict] = []
    best: dict = {}

    def after_epoch(epoch: int, loss: float) -> None:
        r = val_rouge(head, val_docs, val_data, val_windows, val_vecs)
        history.append({"epoch": epoch, "loss": loss, **r})
        log(f"epoch {epoch}: loss {loss:.4f} val {r}")
        if not best or r["rouge1"] + r["rouge2"] > best["rouge1"] + best["rouge2"]:
            best.update(r, state={k: v.clone() for k, v in head.state_dict().items()})

    train_head(model, windows, train_vecs, args.epochs, args.lr, args.batch_size, 1, after_epoch)
    print(json.dumps({"lead3": lead.as_dict(), "history": history}, indent=2))
    if args.save and best:
        head.load_state_dict(best.pop("state"))
        save_pretrained(model, tokenizer, args.save, {f"probe_val_{k}": v for k, v in best.items()})
        log(f"saved encoder + best head to {args.save}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
