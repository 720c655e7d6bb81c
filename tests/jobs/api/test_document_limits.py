"""MAX_DOCUMENT_SENTENCES: too many sentences is a 400 naming the field, on every upload path."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from jobs.models import Document, Summary


def sentences(n: int) -> str:
    return " ".join(f"Sentence number {i} is here." for i in range(n))


def assert_nothing_stored():
    assert not Document.objects.exists()
    assert not Summary.objects.exists()


def test_json_over_the_default_limit_names_the_field_and_both_numbers(api, settings):
    assert settings.MAX_DOCUMENT_SENTENCES == 2000
    resp = api.post("/api/documents/", {"text": sentences(20_000)}, format="json")
    assert resp.status_code == 400, resp.content
    message = "text has 20,000 sentences; the limit is 2,000"
    assert resp.json() == {"detail": message, "errors": {"text": [message]}}
    assert_nothing_stored()


@pytest.mark.parametrize("name", ["long.txt", "long.md"])
def test_file_upload_over_the_limit_is_refused(api, settings, name):
    settings.MAX_DOCUMENT_SENTENCES = 20
    f = SimpleUploadedFile(name, sentences(21).encode(), "text/plain")
    resp = api.post("/api/documents/", {"file": f}, format="multipart")
    assert resp.status_code == 400, resp.content
    assert "text has 21 sentences; the limit is 20" in resp.content.decode()
    assert_nothing_stored()


def test_html_upload_counts_the_extracted_text(api, settings):
    settings.MAX_DOCUMENT_SENTENCES = 5
    html = "<html><body>" + "".join(f"<p>Para {i} ends.</p>" for i in range(6)) + "</body></html>"
    f = SimpleUploadedFile("page.html", html.encode(), "text/html")
    resp = api.post("/api/documents/", {"file": f}, format="multipart")
    assert resp.status_code == 400, resp.content
    assert "the limit is 5" in resp.content.decode()
    assert_nothing_stored()


def test_batch_with_one_long_document_stores_nothing(api, settings):
    settings.MAX_DOCUMENT_SENTENCES = 20
    batch = [{"text": sentences(3)}, {"text": sentences(25)}]
    resp = api.post("/api/documents/batch/", batch, format="json")
    assert resp.status_code == 400, resp.content
    assert "text has 25 sentences; the limit is 20" in resp.content.decode()
    assert_nothing_stored()


def test_exactly_the_limit_is_accepted_even_with_extra_punctuation(api, settings):
    settings.MAX_DOCUMENT_SENTENCES = 20
    # 20 sentences but ~60 full stops: the cheap bound is exceeded, the real count is not.
    text = " ".join(f"Dr. Smith met Mr. Jones on day {i}." for i in range(20))
    resp = api.post("/api/documents/", {"text": text}, format="json")
    assert resp.status_code == 201, resp.content
    assert Document.objects.count() == 1


def test_summarizing_again_a_document_over_a_lowered_limit_is_refused(api, user, settings):
    from jobs.services.documents import DocumentInput, submit_document

    document = submit_document(user, DocumentInput(text=sentences(30), summarize=False)).document
    settings.MAX_DOCUMENT_SENTENCES = 20
    resp = api.post(f"/api/documents/{document.pk}/summarize/", {"model": "lead3"}, format="json")
    assert resp.status_code == 400, resp.content
    assert "text has 30 sentences; the limit is 20" in resp.content.decode()
    assert not Summary.objects.exists()


def test_the_served_textrank_graph_covers_every_accepted_document(settings):
    from jobs import engines

    settings.MAX_DOCUMENT_SENTENCES = 3000
    engines._cache.pop("textrank", None)
    try:
        system = engines.get_system(engines.resolve("textrank"))
        assert system.max_graph_sentences == 3000
    finally:
        engines._cache.pop("textrank", None)


def unpunctuated_korean(n: int) -> str:
    """``n`` Korean sentences on one line, without a full stop (Kiwi ends each at 했다)."""
    from tests.ml.fixtures.korean import korean_text

    return korean_text(n, seed=1).replace(".", "")


def test_unpunctuated_korean_over_the_limit_is_refused(api, settings):
    """Kiwi ends Korean sentences without punctuation: no full stop or line break
    bounds their number."""
    from jobs.text import split_sentences

    settings.MAX_DOCUMENT_SENTENCES = 5
    text = unpunctuated_korean(8)
    assert len(split_sentences(text)) == 8
    resp = api.post("/api/documents/", {"text": text}, format="json")
    assert resp.status_code == 400, resp.content
    message = "text has 8 sentences; the limit is 5"
    assert resp.json() == {"detail": message, "errors": {"text": [message]}}
    assert_nothing_stored()


def test_korean_without_spaces_over_the_limit_is_refused(api, settings):
    settings.MAX_DOCUMENT_SENTENCES = 2
    text = "오늘은날씨가좋습니다내일은비가옵니다모레는눈이옵니다"  # 3 sentences to Kiwi
    resp = api.post("/api/documents/", {"text": text}, format="json")
    assert resp.status_code == 400, resp.content
    assert "text has 3 sentences; the limit is 2" in resp.content.decode()


def test_a_short_korean_text_is_not_split_on_upload(api, settings, monkeypatch):
    """Fewer non-whitespace characters than the limit: not split (Kiwi costs ~85 µs a
    character; the summary splits it anyway)."""
    from jobs.services import validation

    def never(*args, **kwargs):
        raise AssertionError("split on upload")

    monkeypatch.setattr(validation, "split_sentences", never)
    text = unpunctuated_korean(8)
    settings.MAX_DOCUMENT_SENTENCES = len("".join(text.split()))
    resp = api.post("/api/documents/", {"text": text}, format="json")
    assert resp.status_code == 201, resp.content
