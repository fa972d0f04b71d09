"""Page text cut into passages for the text index: BM25 there is tuned for transcript-segment-sized documents
(`BM25_AVG_LEN`, ~32 tokens), and a hit should point at the paragraph that matched, not at a whole page."""

from __future__ import annotations

import re

TARGET_WORDS = 40  # a passage ends at the first sentence end after this many words
MAX_TEXT_CHARS = 1_000_000  # of a page's or transcript's text read at all (entities, passages); the rest is not
MIN_REPEAT_CHARS = 30  # sentences at least this long are read once per text: a repeat says nothing new
MAX_WORDS = 90  # ... or here, mid-sentence, for run-on text without punctuation
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'“(\[]?[A-Z0-9])")


def split_passages(text: str, target_words: int = TARGET_WORDS, max_words: int = MAX_WORDS) -> list[str]:
    """Paragraphs (newline-separated) kept apart; long ones cut at sentence ends near `target_words`."""
    out: list[str] = []
    for paragraph in text.splitlines():
        words: list[str] = []
        for sentence in _SENTENCE_END.split(paragraph.strip()):
            for word in sentence.split():
                words.append(word)
                if len(words) >= max_words:
                    out.append(" ".join(words))
                    words = []
            if len(words) >= target_words:
                out.append(" ".join(words))
                words = []
        if words:
            out.append(" ".join(words))
    return out


def bounded_text(text: str, max_chars: int = MAX_TEXT_CHARS) -> tuple[str, dict]:
    """The text as the graph and the text index read it: each sentence of MIN_REPEAT_CHARS or more once (a page of
    one sentence repeated 200,000 times is one sentence), then at most `max_chars` characters, cut at a line break.

    Returns the text and what was left out (`{"repeats_dropped": n, "truncated_chars": n}`, zero entries omitted),
    so a job can say why its page reads shorter than it is. Short sentences ("Yes.", "Dr.") are never dropped: a
    regex split cuts after abbreviations, and dropping those pieces would change what a sentence says.
    """
    seen: set[str] = set()
    dropped = 0
    lines: list[str] = []
    size = 0
    truncated = 0
    for number, line in enumerate(text.splitlines()):
        kept = []
        for sentence in _SENTENCE_END.split(line.strip()):
            if len(sentence) >= MIN_REPEAT_CHARS:
                if sentence in seen:
                    dropped += 1
                    continue
                seen.add(sentence)
            kept.append(sentence)
        line = " ".join(kept)
        if not line:
            continue
        if size + len(line) > max_chars:
            rest = "\n".join(text.splitlines()[number + 1 :])
            truncated = len(line) + len(rest)
            room = max_chars - size
            cut = line.rfind(" ", 0, room) if room > 0 else -1
            if cut > 0:
                lines.append(line[:cut])
                truncated -= cut
            break
        lines.append(line)
        size += len(line) + 1
    notes = {"repeats_dropped": dropped, "truncated_chars": truncated}
    return "\n".join(lines), {k: v for k, v in notes.items() if v}
