import dataclasses

import numpy as np
import pytest

from ml.text.baselines import get_baseline
from ml.text.zero_label import (
    ZeroLabel,
    ZeroLabelParams,
    non_sentence_reason,
    profile,
    tfidf_similarities,
)

NEWS = (
    "By John Smith . "
    "The city council approved a new bridge over the river on Monday after years of debate. "
    "Photo: Getty Images. "
    "The bridge will cost 40 million dollars and is expected to open to traffic in 2028. "
    "Residents of the river district said traffic on the old crossing had become unbearable. "
    "Questions about the bridge can be sent to press@citycouncil.example.org today. "
    "Council members said the river bridge vote was the most important of the year. "
    "The mayor praised the council for approving the bridge."
)

DIALOGUE = "\n".join(
    [
        "#Person1#: Hello, I would like to book a table for two people tonight.",
        "#Person2#: Certainly. What time would you like the table?",
        "#Person1#: Around seven o'clock, by the window if that is possible.",
        "#Person2#: Yes.",
        "#Person2#: A table for two by the window at seven is booked for you.",
        "#Person1#: Thank you very much.",
    ]
)


def selected_texts(text: str, k: int = 3) -> list[str]:
    return [s.text for s in ZeroLabel().summarize([text], k)[0].selected]


def test_filter_keeps_bylines_addresses_and_credits_out():
    chosen = selected_texts(NEWS, 5)
    assert len(chosen) == 5
    assert not any(s.startswith("By John") for s in chosen)
    assert not any("@" in s for s in chosen)
    assert not any(s.startswith("Photo") for s in chosen)


@pytest.mark.parametrize(
    ("sentence", "reason"),
    [
        ("By John Smith and Jane Doe .", "byline"),
        ("By Daily Mail Reporter PUBLISHED: 12:00 EST, 1 May 2013", "byline"),
        ("Write to jane.doe@example.com for the full report on the budget vote.", "address"),
        ("The full text of the ruling is at https://example.org/ruling today.", "address"),
        ("Photo: A worker repairs the old bridge over the river in the city centre.", "credit"),
        ("Scroll down for video of the bridge opening ceremony in the city.", "credit"),
        ("홍길동 기자 hong@example.co.kr", "address"),
        ("[서울=뉴스] 김철수 기자", "byline"),
        ("Thanks to dad.", "fragment"),
        ("Bridge Budget Approved By Council", "heading"),
        ("The council approved the bridge after a long and heated debate.", ""),
    ],
)
def test_non_sentence_reason(sentence, reason):
    from ml.text.rouge import tokenize

    assert non_sentence_reason(sentence, len(tokenize(sentence))) == reason


def test_every_sentence_competes_when_too_few_candidates_remain():
    text = "By John Smith . Contact: a@b.example.com. The council approved the bridge on Monday."
    summary = ZeroLabel().summarize([text], 3)[0]
    assert sum(s.selected for s in summary.sentences) == len(summary.sentences) == 3


def test_deterministic_and_scores_rank_the_selection():
    first = ZeroLabel().summarize([NEWS, DIALOGUE], 3)
    second = ZeroLabel().summarize([NEWS, DIALOGUE], 3)
    assert first == second
    for summary in first:
        scores = sorted((s.score for s in summary.sentences), reverse=True)
        assert sorted((s.score for s in summary.selected), reverse=True) == scores[:3]


def test_offsets_point_into_the_text():
    summary = ZeroLabel().summarize([NEWS], 3)[0]
    for s in summary.sentences:
        assert NEWS[s.start : s.end] == s.text


def test_dialogue_is_recognised_and_keeps_its_opening_turn():
    params = ZeroLabelParams()
    measured = profile(DIALOGUE, 6, params)
    assert measured.kind == "dialogue" and measured.speaker_turns == 6
    assert measured.position_weight == params.dialogue_position_weight
    summary = ZeroLabel().summarize([DIALOGUE], 2)[0]
    assert summary.selected[0].index == 0
    assert "a dialogue (6 speaker turns)" in summary.notes[0]
    assert profile(NEWS, 8, params).kind == "prose"


def test_korean_prose_weights_length():
    params = ZeroLabelParams()
    measured = profile("서울시는 새 다리를 짓기로 했다. 시민들은 환영했다.", 2, params)
    assert measured.language == "ko" and measured.length_weight == params.korean_length_weight


def test_notes_name_the_model_and_the_filtered_sentences():
    summary = ZeroLabel().summarize([NEWS], 3)[0]
    assert summary.system == "default"
    assert summary.notes[0].startswith("zero-label default: position-aware centrality for prose")
    assert "3 non-sentence(s)" in summary.notes[0]


def test_bounded_graph_later_sentences_never_selected():
    sentences = [
        f"Sentence number {i} talks about the river bridge and council {i % 7}." for i in range(60)
    ]
    text = " ".join(sentences)
    summary = ZeroLabel(max_graph_sentences=20).summarize([text], 3)[0]
    assert len(summary.sentences) == 60
    assert all(s.index < 20 for s in summary.selected)
    assert all(s.score == 0.0 for s in summary.sentences[20:])
    assert "the first 20 scored" in summary.notes[0]


def test_tfidf_similarities_are_cosines():
    sim = tfidf_similarities([["river", "bridge"], ["river", "bridge"], ["cat"], []])
    assert sim.shape == (4, 4)
    assert np.allclose(np.diag(sim), 0) and np.allclose(sim, sim.T)
    assert sim[0, 1] == pytest.approx(1.0) and sim[0, 2] == 0 and sim[3].sum() == 0


def test_empty_text_and_small_budgets():
    assert ZeroLabel().summarize([""], 3)[0].sentences == []
    assert len(ZeroLabel().summarize([NEWS], 1)[0].selected) == 1


def test_one_source_of_defaults_and_overrides():
    assert ZeroLabel().params == ZeroLabelParams()
    assert ZeroLabel(position_weight=0.0).params == dataclasses.replace(
        ZeroLabelParams(), position_weight=0.0
    )
    with pytest.raises(ValueError):
        ZeroLabel(max_graph_sentences=0)


def test_get_baseline_default():
    assert isinstance(get_baseline("default"), ZeroLabel)
