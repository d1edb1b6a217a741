"""The revert search of accuracy-aware quantization: which layers go back to FP32, in which order, and when to stop.

It knows nothing of OpenVINO: a model state is the tuple of layers reverted so far, ``evaluate`` measures one on the
whole data set and ``rank`` orders candidate layers, most harmful first. The rules are POT's
(``AccuracyAwareCommon._change_quantization_scope``):

- revert layers in ranking order, re-evaluating after each; rank again only after an undo;
- with ``use_prev_if_drop_increase``, a revert that makes the drop worse is undone and the layers are ranked again;
- the revert after an undo is kept whatever it does: the search always moves towards FP32, so it ends, at the
  latest with every layer reverted (the FP32 model, whose drop is 0).

Two refinements: the ranking after an undo leaves out the layer just undone (POT ranks it again, and may pick it
again); and the very first revert may be undone too (POT keeps it whatever it does), so that a harmful first
choice does not cost an FP32 layer. speechq's earlier rule, which excluded every layer that once made the drop
worse for the rest of the search, could run out of layers before the target (a conformer stopped at 2.56% WER with
2% asked); this one cannot.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable, Generic, Sequence, TypeVar

__all__ = ["SearchResult", "search_reverts"]

logger = logging.getLogger(__name__)

E = TypeVar("E")
Evaluate = Callable[[tuple[str, ...]], tuple[float, E]]
Rank = Callable[[tuple[str, ...], E, list[str]], list[str]]


@dataclass(frozen=True)
class SearchResult(Generic[E]):
    """Where the search ended.

    Attributes:
        reverted: layers in FP32, in the order they were reverted.
        drop: the metric drop of that state; ``evaluation`` its evaluation (``evaluate``'s second value).
        reached: whether ``drop <= maximal_drop``.
        iterations: evaluations after reverts, undone ones included.
        undone: layers whose revert was undone, in order (a layer may appear more than once).
    """

    reverted: tuple[str, ...]
    drop: float
    evaluation: E
    reached: bool
    iterations: int
    undone: tuple[str, ...]


def search_reverts(
    layers: Sequence[str],
    evaluate: Evaluate[E],
    rank: Rank[E],
    initial: tuple[float, E],
    maximal_drop: float,
    max_iter_num: int | None = None,
    use_prev_if_drop_increase: bool = True,
    name: str = "AccuracyAwareQuantization",
) -> SearchResult[E]:
    """Revert layers until the drop is at most ``maximal_drop`` (see the module docstring for the rules).

    Args:
        layers: the quantized layers of the all-INT8 model, the candidates.
        evaluate: ``reverted -> (drop, evaluation)`` on the whole data set, for the model with those layers in FP32.
        rank: ``(reverted, evaluation, candidates) -> candidates`` ordered most harmful first, judged on that state.
        initial: ``(drop, evaluation)`` of the all-INT8 model.
        maximal_drop: the target; ``max_iter_num`` caps the evaluations (``None``: no cap).
        name: prefix of the log lines.

    Returns:
        The state that reached the target; when the cap stopped the search first, the best state seen (the lowest
        drop, the fewest reverts among equals).
    """
    drop, evaluation = initial
    reverted: tuple[str, ...] = ()
    best = (drop, reverted, evaluation)
    undone: list[str] = []
    just_undone: str | None = None
    keep_next = False  # POT's is_step_back: the first revert after an undo is kept
    ranked: list[str] = []
    iterations = 0
    while drop > maximal_drop:
        if max_iter_num is not None and iterations >= max_iter_num:
            logger.warning("%s: stopped after max_iter_num=%d iterations", name, iterations)
            break
        remaining = [layer for layer in layers if layer not in reverted]
        if not remaining:
            logger.warning("%s: every layer is FP32 and the drop is still %.5f", name, drop)
            break
        if not ranked:
            candidates = [layer for layer in remaining if layer != just_undone] or remaining
            ranked = rank(reverted, evaluation, candidates)
        layer = ranked.pop(0)
        trial = reverted + (layer,)
        trial_drop, trial_evaluation = evaluate(trial)
        iterations += 1
        if use_prev_if_drop_increase and trial_drop > drop and not keep_next:
            logger.info("%s: reverting %s made the drop worse (%.5f > %.5f): undone, ranking again; the next "
                        "revert is kept", name, layer, trial_drop, drop)
            undone.append(layer)
            just_undone, keep_next, ranked = layer, True, []
            continue
        if trial_drop > drop:
            logger.info("%s: reverted %s although the drop got worse (%.5f > %.5f): kept, as after an undo",
                        name, layer, trial_drop, drop)
        reverted, drop, evaluation = trial, trial_drop, trial_evaluation
        just_undone, keep_next = None, False
        logger.info("%s: reverted %s to FP32: drop %.5f with %d layers in FP32", name, layer, drop, len(reverted))
        if drop < best[0]:
            best = (drop, reverted, evaluation)
    reached = drop <= maximal_drop
    if not reached and best[0] < drop:
        drop, reverted, evaluation = best
    return SearchResult(reverted, drop, evaluation, reached, iterations, tuple(undone))
