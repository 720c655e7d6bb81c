import pytest

from ml.stats import paired_bootstrap, paired_bootstrap_result


def test_a_clearly_better_gives_an_interval_above_zero():
    a = [0.5 + 0.01 * (i % 5) for i in range(40)]
    b = [0.3 + 0.01 * (i % 7) for i in range(40)]
    mean, low, high = paired_bootstrap(a, b, resamples=1000, seed=1)
    assert low <= mean <= high
    assert low > 0.1
    assert mean == pytest.approx(sum(a) / 40 - sum(b) / 40)


def test_noise_gives_an_interval_that_contains_zero():
    a = [1.0, 0.0, 1.0, 0.0, 0.5, 0.2]
    b = [0.0, 1.0, 0.0, 1.0, 0.4, 0.3]
    result = paired_bootstrap_result(a, b, resamples=1000, seed=0)
    assert result.n == 6
    assert result.low < 0 < result.high
    assert 0 < result.share_a_not_better < 1


def test_seeded_and_paired():
    a = [0.1, 0.4, 0.3, 0.9, 0.2]
    b = [0.2, 0.1, 0.5, 0.3, 0.1]
    assert paired_bootstrap(a, b, 500, 3) == paired_bootstrap(a, b, 500, 3)
    # identical per-document differences: every resample has the same mean
    same = paired_bootstrap([1.0, 2.0, 3.0], [0.5, 1.5, 2.5], 200, 0)
    assert same == pytest.approx((0.5, 0.5, 0.5))


@pytest.mark.parametrize(
    ("a", "b", "resamples"),
    [([], [], 10), ([1.0], [1.0, 2.0], 10), ([1.0], [1.0], 0)],
)
def test_bad_input_is_refused(a, b, resamples):
    with pytest.raises(ValueError):
        paired_bootstrap(a, b, resamples, 0)
