"""Build a word n-gram language model in ARPA format from plain text, without KenLM's ``lmplz``.

Interpolated Kneser-Ney smoothing (one absolute discount per order, estimated from count-of-counts as
``D = n1 / (n1 + 2 n2)``), written the way ``lmplz`` writes it: the probability stored for a seen n-gram is already
interpolated with its lower order, so the backoff weight of a context is its left-over mass ``gamma(h)``.
Lower orders use continuation counts (how many distinct words precede the n-gram), except n-grams that start with
``<s>``, which keep their raw counts. Unigrams are interpolated with the uniform distribution over the vocabulary
(``<unk>`` included), so every word has a probability.

The same text always gives the same bytes (n-grams are written sorted).

Usage::

    python data_scripts/build_arpa_lm.py --text /work/corpus/train_text.txt --order 3 --prune-below 2 --out lm.arpa
"""

from __future__ import annotations

import argparse
import logging
import math
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Iterable, Sequence

logger = logging.getLogger("build_arpa_lm")

BOS, EOS, UNK = "<s>", "</s>", "<unk>"
_LOG10_ZERO = -99.0
_WORD = re.compile(r"[a-z']+")

NGram = tuple[str, ...]


def normalise_line(line: str) -> list[str]:
    """Lower-case words of letters and apostrophes (the 28-letter DeepSpeech alphabet, without digits/punctuation)."""
    return _WORD.findall(line.lower())


def count_ngrams(sentences: Iterable[Sequence[str]], order: int) -> list[Counter[NGram]]:
    """Raw counts of every n-gram, n = 1..order, of sentences padded with ``<s>`` and ``</s>``.

    Returns:
        ``counts[n - 1]``: n-gram -> occurrences. ``<s>`` is counted only as context, never as a predicted word.
    """
    counts: list[Counter[NGram]] = [Counter() for _ in range(order)]
    for words in sentences:
        if not words:
            continue
        padded = (BOS, *words, EOS)
        for n in range(1, order + 1):
            first_end = 2 if n == 1 else n  # unigrams skip <s>
            for end in range(first_end, len(padded) + 1):
                counts[n - 1][padded[end - n : end]] += 1
    return counts


def _adjusted_counts(raw: list[Counter[NGram]]) -> list[Counter[NGram]]:
    """Kneser-Ney counts: raw for the top order and for n-grams starting with ``<s>``, else continuation counts."""
    order = len(raw)
    adjusted: list[Counter[NGram]] = [Counter() for _ in range(order)]
    adjusted[order - 1] = Counter(raw[order - 1])
    for n in range(order - 1, 0, -1):
        continuation: Counter[NGram] = Counter(gram[1:] for gram in raw[n])
        for gram, count in raw[n - 1].items():
            adjusted[n - 1][gram] = count if gram[0] == BOS else continuation.get(gram, count)
    return adjusted


def _discount(counts: Counter[NGram]) -> float:
    """``n1 / (n1 + 2 n2)`` from the count-of-counts, clipped to [0.1, 0.9] for tiny corpora."""
    n1 = sum(1 for c in counts.values() if c == 1)
    n2 = sum(1 for c in counts.values() if c == 2)
    value = n1 / (n1 + 2 * n2) if n1 + n2 else 0.5
    return min(max(value, 0.1), 0.9)


def _context_stats(counts: Counter[NGram]) -> tuple[dict[NGram, int], dict[NGram, int]]:
    """Per context h: total count of (h, w) and number of distinct words w following h."""
    totals: dict[NGram, int] = defaultdict(int)
    types: dict[NGram, int] = defaultdict(int)
    for gram, count in counts.items():
        totals[gram[:-1]] += count
        types[gram[:-1]] += 1
    return totals, types


def kneser_ney(raw: list[Counter[NGram]]) -> tuple[list[dict[NGram, float]], list[dict[NGram, float]]]:
    """Interpolated Kneser-Ney probabilities and backoff weights (both natural, not log).

    Returns:
        ``(probs, backoffs)``: ``probs[n - 1][gram]`` = P(last word | preceding words) for every seen n-gram
        (plus ``<unk>`` and ``<s>`` among unigrams); ``backoffs[n - 1][gram]`` = gamma of ``gram`` as a context.
    """
    order = len(raw)
    adjusted = _adjusted_counts(raw)
    vocabulary = sorted({g[0] for g in raw[0]} | {UNK})
    probs: list[dict[NGram, float]] = [dict() for _ in range(order)]
    backoffs: list[dict[NGram, float]] = [dict() for _ in range(order)]
    for n in range(1, order + 1):
        counts = adjusted[n - 1]
        discount = _discount(counts)
        totals, types = _context_stats(counts)
        for gram, count in counts.items():
            context = gram[:-1]
            lower = 1.0 / len(vocabulary) if n == 1 else probs[n - 2][gram[1:]]
            gamma = discount * types[context] / totals[context]
            probs[n - 1][gram] = (count - discount) / totals[context] + gamma * lower
        if n == 1:
            gamma = discount * types[()] / totals[()]
            probs[0][(UNK,)] = probs[0].get((UNK,), 0.0) + gamma / len(vocabulary)
        if n > 1:
            for context in totals:
                backoffs[n - 2][context] = discount * types[context] / totals[context]
        logger.info("order %d: %d n-grams, discount %.3f", n, len(counts), discount)
    probs[0][(BOS,)] = 0.0
    return probs, backoffs


def prune_top_order(raw: list[Counter[NGram]], probs: list[dict[NGram, float]], backoffs: list[dict[NGram, float]],
                    min_count: int) -> None:
    """Drop top-order n-grams seen fewer than ``min_count`` times (in place) and renormalise their contexts.

    For a context h that lost n-grams the backoff becomes ``(1 - sum of kept P(w | h)) / (1 - sum of the lower
    order's P(w | h') over the same w)``, so every conditional distribution still sums to one (as SRILM prunes).
    """
    order = len(raw)
    if order < 2 or min_count <= 1:
        return
    top, lower = probs[order - 1], probs[order - 2]
    dropped = {gram for gram in top if raw[order - 1][gram] < min_count}
    for gram in dropped:
        del top[gram]
    kept_mass: dict[NGram, float] = defaultdict(float)
    lower_mass: dict[NGram, float] = defaultdict(float)
    for gram, prob in top.items():
        kept_mass[gram[:-1]] += prob
        lower_mass[gram[:-1]] += lower[gram[1:]]
    for context in {gram[:-1] for gram in dropped}:
        backoffs[order - 2][context] = (1.0 - kept_mass[context]) / (1.0 - lower_mass[context])
    logger.info("pruned %d of the %d-grams seen fewer than %d times; %d left", len(dropped), order, min_count, len(top))


def _log10(value: float) -> float:
    return math.log10(value) if value > 0 else _LOG10_ZERO


def format_arpa(probs: list[dict[NGram, float]], backoffs: list[dict[NGram, float]]) -> str:
    """ARPA text: header with counts, then one section per order, n-grams sorted, 6 decimals."""
    order = len(probs)
    lines = ["", "\\data\\"]
    lines += [f"ngram {n}={len(probs[n - 1])}" for n in range(1, order + 1)]
    for n in range(1, order + 1):
        lines += ["", f"\\{n}-grams:"]
        for gram in sorted(probs[n - 1]):
            line = f"{_log10(probs[n - 1][gram]):.6f}\t{' '.join(gram)}"
            if n < order and gram in backoffs[n - 1]:
                line += f"\t{_log10(backoffs[n - 1][gram]):.6f}"
            elif n < order:
                line += "\t0.000000"
            lines.append(line)
    lines += ["", "\\end\\", ""]
    return "\n".join(lines)


def build_arpa(sentences: Iterable[Sequence[str]], order: int = 3, prune_below: int = 1) -> str:
    """ARPA text of an interpolated Kneser-Ney ``order``-gram model of ``sentences`` (lists of words), without the
    top-order n-grams seen fewer than ``prune_below`` times (1: keep all)."""
    if order < 1:
        raise ValueError(f"order must be at least 1, got {order}")
    raw = count_ngrams(sentences, order)
    if not raw[0]:
        raise ValueError("no words in the training text")
    probs, backoffs = kneser_ney(raw)
    prune_top_order(raw, probs, backoffs, prune_below)
    return format_arpa(probs, backoffs)


def read_sentences(path: Path) -> list[list[str]]:
    """Normalised words of each non-empty line of a plain-text file (one sentence per line)."""
    return [words for line in path.read_text(encoding="utf-8").splitlines() if (words := normalise_line(line))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--text", type=Path, required=True, help="training text, one sentence per line")
    parser.add_argument("--order", type=int, default=3, help="n-gram order (default 3)")
    parser.add_argument("--prune-below", type=int, default=1,
                        help="drop top-order n-grams seen fewer than this many times (default 1: keep all)")
    parser.add_argument("--out", type=Path, required=True, help="ARPA file to write")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if not args.text.is_file():
        print(f"error: --text {args.text} is not a file", file=sys.stderr)
        return 2
    arpa = build_arpa(read_sentences(args.text), args.order, args.prune_below)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(arpa, encoding="utf-8")
    logger.info("wrote %s (%d bytes)", args.out, len(arpa.encode()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
