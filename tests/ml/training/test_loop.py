"""The shared training loop's schedule (the loop itself runs in every model's train tests)."""

import pytest

from ml.training.loop import lr_factor
from tests.ml.fixtures.bertsumext import tiny_train_config


def test_learning_rate_schedules():
    linear = tiny_train_config(warmup_steps=4, max_steps=10)
    factors = [lr_factor(s, 10, linear) for s in range(10)]
    assert factors[:4] == [0.25, 0.5, 0.75, 1.0]
    assert factors[-1] == 0.0 and factors == sorted(factors[:4]) + sorted(factors[4:], reverse=True)
    noam = tiny_train_config(schedule="noam", warmup_steps=4)
    peak = [lr_factor(s, 100, noam) for s in range(10)]
    assert max(peak) == pytest.approx(1.0) and peak.index(max(peak)) == 3
