"""The trained models, one folder each (see ``ml.registry`` and docs/ml.md, "Adding a model").

Every model folder has the same files: ``config.py`` (torch-free settings, the measured
recipe as the defaults), ``model.py`` (the ``nn.Module``), ``features.py`` (text -> token
ids), ``checkpoint.py`` (its checkpoint directory), ``train.py`` and ``summarizer.py``.
"""
