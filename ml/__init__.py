"""Extractive summarization models in plain PyTorch + transformers.

This package never imports Django, Celery or the service (``jobs``): the caller
passes paths, devices and callbacks. Heavy imports (torch, transformers) stay
inside the modules that need them so that the text layer and the baselines load
fast in web processes.
"""
