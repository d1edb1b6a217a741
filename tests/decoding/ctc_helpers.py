"""Helpers for decoding tests: peaked CTC logits from token paths, and a tiny hand-made ARPA model."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from typing import Sequence

import numpy as np

from speechq.decoding import Vocabulary


def path_logits(path: Sequence[int], size: int, peak: float = 0.9) -> np.ndarray:
    """``[T, size]`` float32 log-probabilities with ``peak`` probability on ``path[t]`` and the rest spread evenly."""
    probs = np.full((len(path), size), (1.0 - peak) / (size - 1), dtype=np.float64)
    probs[np.arange(len(path)), list(path)] = peak
    return np.log(probs).astype(np.float32)


def spell(vocab: Vocabulary, text: str, frames_per_token: int = 2) -> list[int]:
    """A CTC path for ``text``: each token held ``frames_per_token`` frames, then one blank."""
    path: list[int] = []
    for token in vocab.text_to_ids(text):
        path += [token] * frames_per_token + [vocab.blank_index]
    return path


def write_arpa(path: Path, sentences: Sequence[str], discount: float = 0.5) -> Path:
    """A bigram ARPA model of ``sentences`` written by hand (no lmplz here).

    Unigrams: add-one estimates over the words, ``</s>`` and ``<unk>``. Bigrams: absolute discounting of seen
    pairs, the discounted mass going to the unigram distribution through each context's backoff weight.
    """
    padded = [["<s>", *s.split(), "</s>"] for s in sentences]
    unigrams = Counter(w for words in padded for w in words[1:])
    bigrams = Counter((a, b) for words in padded for a, b in zip(words, words[1:]))
    vocabulary = sorted(unigrams) + ["<unk>"]
    total = sum(unigrams.values()) + len(vocabulary)
    p_uni = {w: (unigrams[w] + 1) / total for w in vocabulary}
    contexts = Counter(a for a, _ in bigrams.elements())
    followers = Counter(a for a, _ in bigrams)
    p_bi = {(a, b): (n - discount) / contexts[a] for (a, b), n in bigrams.items()}

    def backoff(context: str) -> float:
        if context not in contexts:
            return 1.0
        left = discount * followers[context] / contexts[context]
        return left / (1.0 - sum(p_uni[b] for (a, b) in p_bi if a == context))

    lines = ["\\data\\", f"ngram 1={len(vocabulary) + 1}", f"ngram 2={len(p_bi)}", "", "\\1-grams:"]
    lines.append(f"-99\t<s>\t{math.log10(backoff('<s>')):.6f}")
    for word in vocabulary:
        lines.append(f"{math.log10(p_uni[word]):.6f}\t{word}\t{math.log10(backoff(word)):.6f}")
    lines += ["", "\\2-grams:"]
    for (a, b), p in sorted(p_bi.items()):
        lines.append(f"{math.log10(p):.6f}\t{a} {b}")
    lines += ["", "\\end\\", ""]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
