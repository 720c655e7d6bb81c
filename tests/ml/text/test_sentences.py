import punkt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ml.text.sentences import Span, detect_language, split_sentences


def texts(spans):
    return [s.text for s in spans]


def assert_well_formed(source, spans):
    """Offsets point at the text, sentences are stripped, ordered and cover every word."""
    covered = set()
    previous_end = 0
    for span in spans:
        assert source[span.start : span.end] == span.text
        assert span.text and span.text == span.text.strip()
        assert span.start >= previous_end
        previous_end = span.end
        covered.update(range(span.start, span.end))
    for i, char in enumerate(source):
        if not char.isspace():
            assert i in covered, f"character {char!r} at {i} lost"


sentence_like = st.lists(
    st.one_of(
        st.sampled_from(["Mr.", "U.S.", "3.5", "다.", "요?", "까?", "!", ".", "...", "\n", "\n\n"]),
        st.sampled_from(["The", "cat", "sat", "오늘은", "날씨가", "좋다", '"', ")", " ", "  "]),
        st.text(max_size=4),
    ),
    max_size=60,
).map(" ".join)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), sentence_like), st.sampled_from([None, "en", "ko"]))
def test_offsets_invariant_on_arbitrary_text(source, language):
    assert_well_formed(source, split_sentences(source, language))


def test_span_is_frozen():
    span = split_sentences("One sentence.")[0]
    assert span == Span(0, 13, "One sentence.")
    with pytest.raises(AttributeError):
        span.start = 1  # type: ignore[misc]


@pytest.mark.parametrize("source", ["", "   ", "\n\n\t \n"])
def test_blank_text_has_no_sentences(source):
    assert split_sentences(source) == []


def test_english_abbreviations_and_decimals():
    source = (
        "Mr. Smith flew to the U.S. on Friday. The ticket cost $3.5 thousand, "
        "said Dr. Jones. Was it worth it? Yes!"
    )
    assert texts(split_sentences(source)) == [
        "Mr. Smith flew to the U.S. on Friday.",
        "The ticket cost $3.5 thousand, said Dr. Jones.",
        "Was it worth it?",
        "Yes!",
    ]


def test_english_matches_punkt_sent_tokenize_with_offsets():
    source = (
        '  The board met on Jan. 5 at 10 a.m. in St. Louis. "We are done." '
        "Prices rose 2.5% (a record). Then the meeting ended...  It was late.  "
    )
    spans = split_sentences(source, "en")
    assert texts(spans) == [s.strip() for s in punkt.sent_tokenize(source)]
    assert_well_formed(source, spans)
    assert spans[0].start == 2


def test_closing_quote_stays_with_its_sentence():
    assert texts(split_sentences('He said "stop." Then he left.')) == [
        'He said "stop."',
        "Then he left.",
    ]


def test_blank_line_always_ends_a_sentence():
    source = "A headline without a period\n\nThe body starts here. It goes on"
    assert texts(split_sentences(source)) == [
        "A headline without a period",
        "The body starts here.",
        "It goes on",
    ]


def test_single_newline_inside_punctuated_prose_is_not_a_boundary():
    source = "This sentence was hard\nwrapped by an editor. Next one."
    assert texts(split_sentences(source)) == [
        "This sentence was hard\nwrapped by an editor.",
        "Next one.",
    ]


def test_text_without_punctuation_is_one_sentence_per_line():
    assert texts(split_sentences("buy milk\n  call mom \nfix the bike")) == [
        "buy milk",
        "call mom",
        "fix the bike",
    ]
    assert texts(split_sentences("just one line without an end")) == [
        "just one line without an end"
    ]


def test_korean_sentences():
    source = "오늘은 날씨가 좋다. 기온은 3.5도였다! 정말 그랬나요? 내일도 맑을까? 그렇습니다."
    assert texts(split_sentences(source)) == [
        "오늘은 날씨가 좋다.",
        "기온은 3.5도였다!",
        "정말 그랬나요?",
        "내일도 맑을까?",
        "그렇습니다.",
    ]


def test_korean_quotes_abbreviations_and_missing_spaces():
    source = '그는 "안녕."이라고 말했다. Dr. Kim은 미국 U.S. 출장 중이다.그리고 돌아왔다.'
    assert texts(split_sentences(source)) == [
        '그는 "안녕."이라고 말했다.',
        "Dr. Kim은 미국 U.S. 출장 중이다.",
        "그리고 돌아왔다.",
    ]


def test_korean_line_endings_and_paragraphs():
    source = "첫 문장은 마침표가 없다\n둘째 문장도 그렇다\n\n새 문단입니다. 끝이에요"
    spans = split_sentences(source)
    assert texts(spans) == [
        "첫 문장은 마침표가 없다",
        "둘째 문장도 그렇다",
        "새 문단입니다.",
        "끝이에요",
    ]
    assert_well_formed(source, spans)


def test_detect_language():
    assert detect_language("오늘은 날씨가 좋다. 삼성전자는 Galaxy S24를 발표했다.") == "ko"
    assert detect_language("President Yoon Suk-yeol (윤석열) spoke on Monday.") == "en"
    assert detect_language("") == "en"
    assert detect_language("1234 !!") == "en"


def test_language_argument():
    assert texts(split_sentences("Dies ist z.B. ein Satz. Und noch einer.", "de")) == [
        "Dies ist z.B. ein Satz.",
        "Und noch einer.",
    ]
    assert len(split_sentences("One. Two.", "en-US")) == 2
    with pytest.raises(ValueError, match="unsupported language"):
        split_sentences("Hello.", "klingon")


def test_long_text():
    source = " ".join(f"Sentence number {i} ends here." for i in range(3000))
    spans = split_sentences(source)
    assert len(spans) == 3000
    assert spans[-1].text == "Sentence number 2999 ends here."
    assert source[spans[1234].start : spans[1234].end] == spans[1234].text
