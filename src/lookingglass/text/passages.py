"""Page text cut into passages for the text index: BM25 there is tuned for transcript-segment-sized documents
(`BM25_AVG_LEN`, ~32 tokens), and a hit should point at the paragraph that matched, not at a whole page."""

from __future__ import annotations

import re

TARGET_WORDS = 40  # a passage ends at the first sentence end after this many words
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
