"""The torch-free text layer: sentences with offsets, ROUGE, sentence selection, the
baselines, the dataset readers and the summary types every system returns."""
