"""Pretrained Hugging Face seq2seq summarizers (BART, T5, Pegasus ...): served, not trained."""
