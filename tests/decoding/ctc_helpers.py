"""Helpers for decoding tests: peaked CTC logits from token paths, and a tiny hand-made ARPA model."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from typing import Callable, Sequence

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


def ambiguous_cat(vocab: Vocabulary, case: Callable[[str], str] | None = None) -> np.ndarray:
    """'the ?at' where the acoustics slightly prefer 'k' (0.55) over 'c' (0.40): greedy reads 'the kat' (in the
    case ``case`` makes it: ``str.upper`` for a vocabulary of capitals)."""
    spelt = case or (lambda text: text)
    logits = np.exp(path_logits(spell(vocab, spelt("the kat")), vocab.size, peak=0.95))
    k, c = vocab.text_to_ids(spelt("k"))[0], vocab.text_to_ids(spelt("c"))[0]
    rows = np.flatnonzero(logits.argmax(axis=1) == k)
    logits[rows] = 0.05 / (vocab.size - 2)
    logits[rows, k], logits[rows, c] = 0.55, 0.40
    return np.log(logits / logits.sum(axis=1, keepdims=True)).astype(np.float32)
