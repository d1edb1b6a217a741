"""Greedy CTC decoding speed: one hour of 50 frames/s logits over 32 symbols (180,000 x 32 float32).

Three inputs: "speech-like" (blank on ~70 % of frames, tokens held a few frames, as CTC models emit), "every frame
a new token" (the worst case for building text) and the same speech-like hour cut into 60 one-minute utterances
decoded as one [60, 3000, 32] batch; plus the streaming decoder fed 16-frame chunks. Each is run ``--repeats``
times after one warm-up; the table gives the median and the spread (min-max) in milliseconds.

Usage::

    .venv/bin/python bench/bench_greedy_decoding.py [--repeats 15] [--seed 0]
"""

from __future__ import annotations

import argparse
import statistics
import string
import time
from typing import Callable

import numpy as np

from speechq.decoding import StreamingGreedyDecoder, Vocabulary, greedy_decode, greedy_decode_batch

FRAMES_PER_SECOND = 50
SECONDS = 3600
SYMBOLS = 32
STREAM_CHUNK_FRAMES = 16


def vocabulary() -> Vocabulary:
    """32 symbols (Wav2Vec2-sized): blank, word delimiter, a-z, apostrophe, hyphen, two digits."""
    letters = [*string.ascii_lowercase, "'", "-", "0", "1"]
    return Vocabulary.from_tokens(["<pad>", "|", *letters], blank_index=0, word_delimiter="|")


def speech_like_logits(rng: np.random.Generator, frames: int) -> np.ndarray:
    """``[frames, 32]`` float32 log-probability-like scores whose best path is mostly blank with held tokens."""
    runs = rng.integers(1, 5, size=frames)
    symbols = np.where(rng.random(frames) < 0.7, 0, rng.integers(1, SYMBOLS, size=frames))
    path = np.repeat(symbols, runs)[:frames]
    logits = rng.normal(-6.0, 1.0, size=(frames, SYMBOLS)).astype(np.float32)
    logits[np.arange(frames), path] = -0.05
    return logits


def every_frame_new_token(frames: int) -> np.ndarray:
    """``[frames, 32]`` scores whose best path changes token at every frame and never hits the blank."""
    logits = np.full((frames, SYMBOLS), -8.0, dtype=np.float32)
    logits[np.arange(frames), 1 + np.arange(frames) % (SYMBOLS - 1)] = -0.01
    return logits


def stream(vocab: Vocabulary, logits: np.ndarray) -> str:
    decoder = StreamingGreedyDecoder(vocab)
    for start in range(0, logits.shape[0], STREAM_CHUNK_FRAMES):
        decoder.push(logits[start : start + STREAM_CHUNK_FRAMES])
    return decoder.finish()


def timings_ms(run: Callable[[], object], repeats: int) -> list[float]:
    run()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1000.0)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    frames = FRAMES_PER_SECOND * SECONDS
    vocab = vocabulary()
    speech = speech_like_logits(np.random.default_rng(args.seed), frames)
    worst = every_frame_new_token(frames)
    minutes = speech.reshape(SECONDS // 60, 60 * FRAMES_PER_SECOND, SYMBOLS)
    cases: list[tuple[str, Callable[[], object]]] = [
        ("greedy_decode, speech-like, 1 x 180,000 frames", lambda: greedy_decode(speech, vocab)),
        ("greedy_decode, every frame a new token", lambda: greedy_decode(worst, vocab)),
        ("greedy_decode_batch, 60 x 3,000 frames", lambda: greedy_decode_batch(minutes, vocab)),
        (f"StreamingGreedyDecoder, {STREAM_CHUNK_FRAMES}-frame chunks", lambda: stream(vocab, speech)),
    ]
    if stream(vocab, speech) != greedy_decode(speech, vocab):
        raise SystemExit("streaming and whole-utterance greedy decoding disagree")

    print(f"Greedy CTC decoding of one hour of audio ({frames:,} frames x {SYMBOLS} symbols, float32), "
          f"{args.repeats} runs after a warm-up\n")
    print("| case | median ms | min ms | max ms | x real time |")
    print("|---|---:|---:|---:|---:|")
    for name, run in cases:
        times = timings_ms(run, args.repeats)
        median = statistics.median(times)
        print(f"| {name} | {median:.1f} | {min(times):.1f} | {max(times):.1f} | {SECONDS * 1000 / median:,.0f} |")


if __name__ == "__main__":
    main()
