import json

import pytest

from ml.text.data import (
    Example,
    load_csv,
    load_examples,
    load_jsonl,
    load_story_dir,
    parse_story,
    stable_id,
)


def write(path, content):
    path.write_text(content, encoding="utf-8")
    return path


def test_jsonl_both_key_styles_and_stable_ids(tmp_path):
    path = write(
        tmp_path / "docs.jsonl",
        json.dumps({"id": "a1", "article": "First text.", "highlights": "One.\nTwo."})
        + "\n\n"
        + json.dumps({"text": "Second text.", "reference_summary": "Ref."})
        + "\n"
        + json.dumps({"text": "Third text.", "labels": {"0": 1, "2": 0}})
        + "\n",
    )
    first, second, third = load_jsonl(path)
    assert first == Example(id="a1", text="First text.", reference="One.\nTwo.")
    assert second.id == stable_id("Second text.") == load_jsonl(path)[1].id
    assert len(second.id) == 40 and second.reference == "Ref."
    assert third.reference == "" and third.labels == {0: 1, 2: 0}
    assert [e.id for e in load_jsonl(path, limit=2)] == ["a1", second.id]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "line 2: invalid JSON"),
        ('{"highlights": "x"}', "line 2: missing text"),
        ('["a list"]', "line 2: expected a JSON object"),
        ('{"text": "   "}', "line 2: 'text' is empty"),
        ('{"text": 5}', "line 2: 'text' must be a string"),
        ('{"text": "t", "labels": {"x": 1}}', "line 2: label key"),
        ('{"text": "t", "labels": {"0": 3}}', "must be 0 or 1"),
    ],
)
def test_jsonl_bad_lines_name_the_line(tmp_path, line, message):
    path = write(tmp_path / "bad.jsonl", '{"text": "fine"}\n' + line + "\n")
    with pytest.raises(ValueError, match=message) as error:
        load_jsonl(path)
    assert "bad.jsonl" in str(error.value)


def test_csv(tmp_path):
    path = write(
        tmp_path / "docs.csv",
        'id,text,reference_summary\nx,"A text, with a comma.","Ref one.\nRef two."\n'
        ",Another text.,\n",
    )
    first, second = load_csv(path)
    assert first == Example(id="x", text="A text, with a comma.", reference="Ref one.\nRef two.")
    assert second.id == stable_id("Another text.") and second.reference == ""


def test_csv_errors(tmp_path):
    with pytest.raises(ValueError, match="header row"):
        load_csv(write(tmp_path / "a.csv", "title,body\nx,y\n"))
    with pytest.raises(ValueError, match="line 3: 'text' is empty"):
        load_csv(write(tmp_path / "b.csv", 'text\nok\n" "\n'))


STORY = """A quiet town opened its library on Sunday
Volunteers carried books for hours.

The mayor said "welcome"

@highlight

Town opens library

@highlight

Volunteers carried the books!
"""


def test_parse_story_normalises_like_cnndm():
    article, highlights = parse_story(STORY)
    assert article == (
        "A quiet town opened its library on Sunday . Volunteers carried books for hours. "
        'The mayor said "welcome"'
    )
    assert highlights == "Town opens library .\nVolunteers carried the books!"


def test_story_dir(tmp_path):
    write(tmp_path / "b.story", STORY)
    write(tmp_path / "a.story", "Text only.\n@highlight\n\nA highlight\n")
    write(tmp_path / "notes.txt", "ignored")
    examples = load_story_dir(tmp_path)
    assert [e.id for e in examples] == ["a", "b"]
    assert examples[0] == Example(id="a", text="Text only.", reference="A highlight .")
    assert load_examples(tmp_path, limit=1) == examples[:1]
    write(tmp_path / "c.story", "@highlight\n\nNo article\n")
    with pytest.raises(ValueError, match=r"c\.story: no article"):
        load_story_dir(tmp_path)


def test_load_examples_dispatch_and_errors(tmp_path):
    jsonl = write(tmp_path / "d.jsonl", '{"text": "Hello."}\n')
    csv_path = write(tmp_path / "d.csv", "article\nHello.\n")
    assert load_examples(jsonl)[0].text == load_examples(csv_path)[0].text == "Hello."
    with pytest.raises(FileNotFoundError):
        load_examples(tmp_path / "missing.jsonl")
    with pytest.raises(ValueError, match="unknown format"):
        load_examples(write(tmp_path / "d.xml", "<a/>"))
    bad = tmp_path / "latin1.jsonl"
    bad.write_bytes('{"text": "caf\xe9"}\n'.encode("latin-1"))
    with pytest.raises(ValueError, match="not UTF-8"):
        load_examples(bad)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match=r"no \.story files"):
        load_examples(empty)
