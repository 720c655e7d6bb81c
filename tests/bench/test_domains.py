"""bench.domains on a tiny synthetic JSON Lines set (no shared data)."""

import json

import pytest

from bench import domains

NEWS = (
    "By John Smith . The council approved the new river bridge on Monday after years of "
    "debate. The bridge will cost forty million dollars and open in 2028. Residents said "
    "traffic on the old crossing had become unbearable. Write to news@example.com with "
    "questions. The mayor praised the vote on the bridge."
)
DIALOGUE = (
    "#Person1#: Hi, I want to book a table for two tonight.\n"
    "#Person2#: Sure, what time would you like?\n"
    "#Person1#: Around seven, by the window if possible.\n"
    "#Person2#: Done. See you at seven."
)


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny.jsonl"
    rows = [
        {
            "id": "a",
            "article": NEWS,
            "highlights": "The council approved a river bridge.\nIt costs forty million dollars.",
        },
        {
            "id": "b",
            "article": DIALOGUE,
            "highlights": "#Person1# books a table for two at seven by the window.",
            "sentences": [
                "#Person1#: Hi, I want to book a table for two tonight.",
                "#Person2#: Sure, what time would you like?",
                "#Person1#: Around seven, by the window if possible.",
                "#Person2#: Done.",
                "See you at seven.",
            ],
            "extractive": [0, 2],
        },
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")
    return path


def test_reports_every_system_against_lead3_as_is_and_at_equal_length(tiny, tmp_path, capsys):
    out = tmp_path / "report.json"
    code = domains.main(
        [
            "--data",
            str(tiny),
            "--system",
            "textrank",
            "default",
            "--resamples",
            "50",
            "--max-document-sentences",
            "5",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "n=2; 1 document(s) cut to their first 5 sentences for every system" in printed
    report = json.loads(out.read_text())["sets"][0]
    assert list(report["systems"]) == ["lead3", "textrank", "default"]
    lead = report["systems"]["lead3"]
    assert lead["as_is"]["rouge1"]["mean_difference"] == 0
    for name, row in report["systems"].items():
        for mode in ("as_is", "equal_length"):
            r1 = row[mode]["rouge1"]
            low, high = r1["ci95"]
            assert low <= r1["mean_difference"] <= high
            assert r1["mean_difference"] == pytest.approx(r1["system"] - r1["lead3"])
        assert 0 <= row["label_precision"] <= 1
        assert row["seconds_per_document"] > 0
        assert name in printed
    # Lead-3 picks the dialogue's sentences 0, 1, 2: two of three are human-chosen.
    assert lead["label_precision"] == pytest.approx(2 / 3)


def test_equal_length_cuts_both_to_the_shorter_summary():
    assert domains.cut_to_words(["one two three.", "four five."], 4) == ["one two three.", "four"]
    assert domains.cut_to_words(["one two."], 0) == []
    long, short = ["a b c d e f."], ["a b."]
    result = domains.compare([long], [short], ["a b"], resamples=10, seed=0)
    equal = result["equal_length"]["rouge1"]
    assert equal["system"] == equal["lead3"] == pytest.approx(100.0)
    assert result["as_is"]["rouge1"]["system"] < 100.0


def test_cap_keeps_the_first_sentences():
    text, original = domains.cap_text("One is here. Two is here. Three is here.", 2)
    assert text == "One is here. Two is here." and original == 3
    assert domains.cap_text("Only one.", 2) == ("Only one.", None)


def test_bad_input_is_a_clear_error(tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"article": "Text here."}\n')
    assert domains.main(["--data", str(bad)]) == 2
    assert "no reference summary" in capsys.readouterr().err
    assert domains.main(["--data", str(tmp_path / "missing.jsonl")]) == 2
    assert domains.main(["--data", str(bad), "--system", "nonsense"]) == 2
    assert "unknown system 'nonsense'" in capsys.readouterr().err
