import pytest
import torch

from ml.models.matchsum.config import MatchSumConfig
from ml.models.matchsum.features import MatchFeatures, collate
from ml.models.matchsum.model import MatchSum
from tests.ml.fixtures.matchsum import tiny_match_config


def test_loss_matches_a_hand_computed_value():
    # Candidates best first: 0.5, 0.7, 0.2; gold 0.6; margin 0.01.
    scores = torch.tensor([[0.5, 0.7, 0.2]])
    slots = torch.ones_like(scores, dtype=torch.bool)
    # gap 1: max(0, .7-.5+.01) = .21 and max(0, .2-.7+.01) = 0 -> mean .105
    # gap 2: max(0, .2-.5+.02) = 0
    # gold:  max(0, s - .6) = 0, .1, 0 -> mean 1/30
    expected = 0.105 + 0.0 + 0.1 / 3
    assert MatchSum.loss(scores, slots, torch.tensor([0.6]), 0.01).item() == pytest.approx(expected)
    assert MatchSum.loss(scores, slots, None, 0.01).item() == pytest.approx(0.105)
    # the gold margin and weight
    value = MatchSum.loss(scores, slots, torch.tensor([0.6]), 0.01, gold_margin=0.1, gold_weight=2)
    gold = (0.0 + 0.2 + 0.0) / 3  # max(0, s - .6 + .1)
    assert value.item() == pytest.approx(0.105 + 2 * gold)


def test_the_best_to_worst_gap_counts_too():
    # Two gaps; only the largest (gap 2) is violated. The reference code's loop stops
    # one gap short and would return 0 here; the paper's loss (ours) does not.
    scores = torch.tensor([[0.50, 0.49, 0.52]])
    slots = torch.ones_like(scores, dtype=torch.bool)
    # gap 1: max(0, .49-.50+.01) = 0, max(0, .52-.49+.01) = .04 -> .02 ; gap 2: .52-.5+.02 = .04
    assert MatchSum.loss(scores, slots, None, 0.01).item() == pytest.approx(0.02 + 0.04)


def test_padding_slots_do_not_count():
    scores = torch.tensor([[0.5, 0.7, 0.2], [0.9, 0.1, 123.0]])
    slots = torch.tensor([[True, True, True], [True, True, False]])
    # row 1 gap 1: max(0, .1 - .9 + .01) = 0 -> gap 1 mean over 3 pairs: .21 / 3
    expected = 0.21 / 3 + 0.0  # gap 2: only row 0's pair, 0
    assert MatchSum.loss(scores, slots, None, 0.01).item() == pytest.approx(expected)


def test_a_correct_ranking_with_wide_margins_costs_nothing_and_a_reversed_one_does():
    good = torch.tensor([[0.9, 0.8, 0.7, 0.6]])
    slots = torch.ones_like(good, dtype=torch.bool)
    assert MatchSum.loss(good, slots, torch.tensor([0.95]), 0.01).item() == 0.0
    bad = good.flip(-1)
    assert MatchSum.loss(bad, slots, torch.tensor([0.95]), 0.01).item() > 0.1
    # A gold summary scored below a candidate costs that difference (margin 0).
    assert MatchSum.loss(good, slots, torch.tensor([0.85]), 0.01).item() == pytest.approx(0.05 / 4)


def test_config_validation_and_round_trip():
    config = MatchSumConfig(candidate_sizes=[3, 2, 2])
    assert config.candidate_sizes == [2, 3]
    assert MatchSumConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match="pooling"):
        MatchSumConfig(pooling="max")
    with pytest.raises(ValueError, match="unknown"):
        MatchSumConfig.from_dict({"nope": 1})
    with pytest.raises(ValueError):
        MatchSumConfig(candidate_sizes=[0])


@pytest.mark.parametrize("pooling", ["cls", "mean"])
def test_scores_are_cosines_of_separately_embedded_texts(pooling):
    torch.manual_seed(0)
    model = MatchSum(tiny_match_config(pooling=pooling)).eval()
    feats = [
        MatchFeatures(
            [101, 2000, 2001, 102], [[101, 2000, 102], [101, 2003, 2004, 2005, 102]], None
        ),
        MatchFeatures([101, 2010, 102], [[101, 2010, 2011, 102]], None),
    ]
    batch = collate(feats, pad_id=0)
    assert batch.candidate_slots.tolist() == [[True, True], [True, False]]
    with torch.no_grad():
        out = model(batch)
        assert out.scores.shape == (2, 2) and out.gold_scores is None

        def emb(ids):
            t = torch.tensor([ids])
            return model.embed(t, torch.ones_like(t))[0]

        for r, f in enumerate(feats):
            doc = emb(f.doc_ids)
            for c, ids in enumerate(f.candidate_ids):
                expected = torch.cosine_similarity(emb(ids), doc, dim=0)
                assert out.scores[r, c].item() == pytest.approx(expected.item(), abs=1e-5)
