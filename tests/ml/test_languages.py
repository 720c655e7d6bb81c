"""ml.languages: which languages a tokenizer reads, measured on built-in samples."""

import pytest
from tokenizers import Tokenizer, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

from ml.encoders import load_tokenizer
from ml.languages import (
    LANGUAGE_SAMPLES,
    MIN_CHARACTERS_PER_TOKEN,
    LanguageCoverage,
    measure_language,
    measure_languages,
)

# Korean sentences written for this test, to train (with the module's Korean samples,
# as a real Korean vocabulary would hold those words) a tokenizer that reads Korean.
KOREAN_TRAINING_TEXT = [
    "시는 버스 노선을 새로 만들고 운영한다고 밝혔다",
    "주민들은 출근 시간이 짧아졌다고 말했다 대부분 만족했다",
    "대변인은 비용 사업 계획에 대해 언급하지 않았다 다음 달부터 전용차로 두 곳",
    "아침 저녁 도로 정체 교통 요금 새로 운영 의 을 를 이 가 은 는 에 대해서는",
]


def korean_wordpiece() -> PreTrainedTokenizerFast:
    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = trainers.WordPieceTrainer(vocab_size=400, special_tokens=["[UNK]"])
    tokenizer.train_from_iterator([*KOREAN_TRAINING_TEXT, *LANGUAGE_SAMPLES["ko"]] * 20, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, unk_token="[UNK]")


def test_the_packaged_encoder_reads_english_not_korean():
    coverage = measure_languages(load_tokenizer("default"))
    assert coverage.covered == ("en",)
    assert coverage.measured["en"]["characters_per_token"] > 3
    # Uncased WordPiece decomposes Hangul into jamo: fewer than one character per token.
    assert coverage.measured["ko"]["characters_per_token"] < 1
    assert coverage.measured["ru"]["characters_per_token"] < MIN_CHARACTERS_PER_TOKEN
    assert coverage.reads("en") and not coverage.reads("ko")
    assert coverage.evidence("ko").startswith("measured on its tokenizer: 0.")


def test_a_tokenizer_with_a_korean_vocabulary_reads_korean():
    coverage = measure_languages(korean_wordpiece())
    assert "ko" in coverage.covered
    assert "en" not in coverage.covered  # every English word is unknown to it
    assert coverage.measured["en"]["unknown_rate"] > 0.5


def test_unknown_tokens_count():
    tokenizer = korean_wordpiece()
    numbers = measure_language(
        lambda text: tokenizer(text, add_special_tokens=False)["input_ids"],
        tokenizer.unk_token_id,
        ["qqq zzz"],
    )
    assert numbers["unknown_rate"] == 1.0


def test_a_language_that_was_not_measured_is_not_refused():
    coverage = LanguageCoverage(covered=("en",), measured={"en": {}, "ko": {}})
    assert coverage.reads("en") and not coverage.reads("ko") and coverage.reads("ja")


def test_coverage_round_trips_through_json_data():
    coverage = measure_languages(load_tokenizer("default"))
    assert LanguageCoverage.from_dict(coverage.to_dict()) == coverage


@pytest.mark.parametrize("language", sorted(LANGUAGE_SAMPLES))
def test_samples_are_sentences_of_their_language(language):
    from ml.text.sentences import detect_language

    for sentence in LANGUAGE_SAMPLES[language]:
        assert len(sentence.split()) >= 5
        if language in ("en", "ko"):
            assert detect_language(sentence) == language


def test_the_tokenizer_file_measures_what_the_transformers_tokenizer_does():
    from ml.encoders import packaged_encoder_dir
    from ml.languages import encoder_coverage, tokenizer_file_coverage

    through_transformers = measure_languages(load_tokenizer("default"))
    assert tokenizer_file_coverage(packaged_encoder_dir()) == through_transformers
    assert encoder_coverage("default") == through_transformers


def test_a_directory_without_tokenizer_json_is_not_measured(tmp_path):
    from ml.languages import tokenizer_file_coverage

    assert tokenizer_file_coverage(tmp_path) is None
