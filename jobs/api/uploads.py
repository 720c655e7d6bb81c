"""Turn uploaded files (.txt, .md, .html) into document text."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import PurePath

from jobs.services.errors import InvalidInput
from jobs.services.validation import TITLE_MAX_CHARS

ALLOWED_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm")
_BLOCK_TAGS = {
    "p",
    "div",
    "br",
    "li",
    "ul",
    "ol",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "tr",
    "table",
    "section",
    "article",
    "header",
    "footer",
    "blockquote",
    "pre",
    "title",
}
_SKIP_TAGS = {"script", "style", "noscript", "template", "head"}


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title = ""
        self._skip = 0
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        if tag == "title":
            self._in_title = True
        elif tag in _SKIP_TAGS:
            self._skip += 1
        if tag in _BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag):
        if tag == "title":
            self._in_title = False
        elif tag in _SKIP_TAGS and self._skip:
            self._skip -= 1
        if tag in _BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_data(self, data):
        if self._in_title:
            self.title += data
        elif not self._skip:
            self.parts.append(data)


def html_to_text(html: str) -> tuple[str, str]:
    """Return (title, text): visible text with block elements as paragraphs."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    text = "".join(parser.parts)
    paragraphs = [re.sub(r"[ \t\r\f\v\n]+", " ", p).strip() for p in re.split(r"\n\s*\n", text)]
    return parser.title.strip(), "\n\n".join(p for p in paragraphs if p)


def read_upload(name: str, data: bytes) -> tuple[str, str]:
    """Decode an uploaded file (a name without an extension is plain text).
    Returns (title, text): the title from the HTML <title> or the file name, cut to
    TITLE_MAX_CHARS (a default, not the client's title); raises InvalidInput."""
    suffix = PurePath(name or "").suffix.lower()
    if suffix not in (*ALLOWED_SUFFIXES, ""):
        raise InvalidInput(
            f"unsupported file type '{suffix or name}'; upload .txt, .md or .html", "file"
        )
    try:
        raw = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput("the file is not UTF-8 text", "file") from exc
    title = PurePath(name).stem
    if suffix in (".html", ".htm"):
        html_title, raw = html_to_text(raw)
        title = html_title or title
    return title.strip()[:TITLE_MAX_CHARS], raw
