import json
import subprocess
import sys
from pathlib import Path

import pytest
from rouge_score import rouge_scorer

from ml.evaluate import evaluate
from ml.text.baselines import Lead, Oracle
from ml.text.data import Example
from ml.text.sentences import split_sentences

REPO = Path(__file__).resolve().parents[3]

# Original texts: two short community notices with hand-written summaries.
DOCS = [
    {
        "id": "bakery",
        "text": "The corner bakery reopened on Monday after a long renovation. "
        "Its new oven bakes two hundred loaves an hour. "
        "Regulars queued before dawn. "
        "The owner thanked the neighbours for their patience during the work.",
        "reference_summary": "The corner bakery reopened after renovation\n"
        "The owner thanked neighbours for their patience",
    },
    {
        "id": "bridge",
        "text": "Cyclists crowded the river path on Saturday. "
        "The city opened a footbridge linking the two parks. "
        "It took three years to build. "
        "Engineers say the footbridge will carry five thousand people a day.",
        "reference_summary": "A new footbridge links the two parks\n"
        "It will carry five thousand people a day",
    },
]


def examples():
    return [Example(d["id"], d["text"], d["reference_summary"]) for d in DOCS]


def expected_lead3():
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeLsum"], use_stemmer=True)
    totals = {"rouge1": 0.0, "rouge2": 0.0, "rougeLsum": 0.0}
    for doc in DOCS:
        lead = "\n".join(s.text for s in split_sentences(doc["text"])[:3])
        result = scorer.score(doc["reference_summary"], lead)
        for key in totals:
            totals[key] += result[key].fmeasure * 100 / len(DOCS)
    return totals


def test_evaluate_lead3_matches_rouge_score():
    scores = evaluate(Lead(), examples(), batch_size=1)
    assert scores.n == 2
    for key, value in expected_lead3().items():
        assert getattr(scores, key) == pytest.approx(value)


def test_evaluate_oracle_beats_lead():
    oracle, lead = evaluate(Oracle(), examples()), evaluate(Lead(), examples())
    assert oracle.rouge1 > lead.rouge1 and oracle.rouge2 > lead.rouge2


def test_evaluate_rejects_examples_without_references():
    with pytest.raises(ValueError, match="no reference summary"):
        evaluate(Lead(), [Example("x", "Some text.")])
    with pytest.raises(ValueError, match="no examples"):
        evaluate(Lead(), [])


def run_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "ml", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def data_file(tmp_path):
    path = tmp_path / "docs.jsonl"
    path.write_text("".join(json.dumps(d) + "\n" for d in DOCS), encoding="utf-8")
    return path


def test_cli_evaluate_prints_one_json_object(data_file):
    result = run_cli("evaluate", "--data", str(data_file), "--system", "lead3")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    output = json.loads(lines[0])
    assert set(output) == {"system", "n", "rouge1", "rouge2", "rougeLsum"}
    assert output["system"] == "lead3" and output["n"] == 2
    for key, value in expected_lead3().items():
        assert output[key] == pytest.approx(value, abs=0.01)


@pytest.mark.parametrize("system", ["textrank", "oracle"])
def test_cli_other_baselines_and_limit(data_file, system):
    result = run_cli(
        "evaluate", "--data", str(data_file), "--system", system, "--limit", "1", "--quiet"
    )
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    assert output["system"] == system and output["n"] == 1
    assert 0 < output["rouge1"] <= 100


@pytest.mark.parametrize(
    ("content", "system", "message"),
    [
        (None, "lead3", "no such file"),
        ('{"text": "ok", "highlights": "ok"}\n{broken\n', "lead3", "line 2: invalid JSON"),
        ('{"text": "No reference."}\n', "lead3", "no reference summary"),
        ("", "lead3", "no examples"),
        ('{"text": "ok", "highlights": "ok"}\n', "no-such-system", "unknown system"),
    ],
)
def test_cli_bad_input_exits_2_without_traceback(tmp_path, content, system, message):
    path = tmp_path / "input.jsonl"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    result = run_cli("evaluate", "--data", str(path), "--system", system)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_cli_argument_errors_exit_2():
    assert run_cli("evaluate", "--data", "x.jsonl").returncode == 2  # --system missing
    assert run_cli("evaluate", "--data", "x", "--system", "lead3", "--limit", "-1").returncode == 2
    assert run_cli().returncode == 2


def test_text_layer_does_not_import_torch():
    code = (
        "import sys; import ml.text.sentences, ml.text.rouge, ml.text.baselines, ml.text.data,"
        " ml.text.selection, ml.evaluate, ml.cli, ml.cli.train, ml.registry, ml.settings,"
        " ml.training.config, ml.models.bertsumext.config, ml.models.matchsum.config;"
        "ml.registry.resolve_train_config('bertsumext');"
        "ml.registry.resolve_train_config('matchsum');"
        "ml.cli.build_parser();"
        "ml.text.baselines.Lead().summarize(['One. Two.']);"
        "assert not {'torch', 'django', 'nltk', 'scipy'} & set(sys.modules), sys.modules.keys()"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
