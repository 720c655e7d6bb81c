"""Extractive summarization models in plain PyTorch + transformers.

This package never imports Django, Celery or the service (``jobs``): the caller
passes paths, devices and callbacks. Heavy imports (torch, transformers) stay
inside the modules that need them: the text layer (``ml.text``), the baselines, the
config dataclasses (``ml.settings``, ``ml.training.config``, ``ml.models.*.config``)
and the registry's config lookups (``ml.registry``) load without them in web
processes. See docs/ml.md.
"""
