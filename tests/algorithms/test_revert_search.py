"""The revert search's rules (POT's), on drops given per set of reverted layers.

The search is pure decision logic: it sees a model state only as the tuple of layers reverted so far. Here each
state's drop comes from a table, so that the cases where the rules differ (a revert that makes the drop worse, a
search that would run out of layers) are exact; ``test_accuracy_aware.py`` runs the same search on real models.
"""

from hypothesis import given, settings, strategies as st

from speechq.algorithms.accuracy_aware.search import search_reverts


class Table:
    """Drops of model states (keyed by the set of reverted layers) and a fixed ranking; records what was asked."""

    def __init__(self, drops, ranking, default=None):
        self.drops = {frozenset(k): v for k, v in drops.items()}
        self.ranking, self.default = ranking, default
        self.evaluated, self.ranked = [], []

    def evaluate(self, reverted):
        self.evaluated.append(reverted)
        drop = self.drops.get(frozenset(reverted), self.default)
        assert drop is not None, f"state {reverted} not in the table"
        return drop, ("evaluation of", reverted)

    def rank(self, reverted, evaluation, candidates):
        assert evaluation == ("evaluation of", reverted) or not reverted
        self.ranked.append((reverted, tuple(candidates)))
        return sorted(candidates, key=self.ranking.index)

    def search(self, layers=("a", "b", "c"), maximal_drop=0.01, **kwargs):
        initial = (self.drops[frozenset()], ("evaluation of", ()))
        return search_reverts(list(layers), self.evaluate, self.rank, initial, maximal_drop, **kwargs)


def test_reached_without_reverting():
    table = Table({(): 0.005}, ["a", "b", "c"])
    result = table.search()
    assert result.reached and result.reverted == () and result.iterations == 0 and not table.ranked


def test_follows_the_ranking_and_ranks_once_while_the_drop_improves():
    table = Table({(): 0.05, ("b",): 0.03, ("b", "a"): 0.008}, ["b", "a", "c"])
    result = table.search()
    assert result.reached and result.reverted == ("b", "a") and result.drop == 0.008
    assert result.evaluation == ("evaluation of", ("b", "a"))
    assert table.ranked == [((), ("a", "b", "c"))] and result.iterations == 2 and result.undone == ()


def test_a_worse_revert_is_undone_and_the_next_one_kept_whatever_it_does():
    # b helps; then c makes it worse (undone, ranked again without c); a is kept although worse too;
    # then c, ranked again from the new state, reaches the target.
    drops = {(): 0.05, ("b",): 0.03, ("b", "c"): 0.04, ("b", "a"): 0.035, ("b", "a", "c"): 0.0}
    table = Table(drops, ["b", "c", "a"])
    result = table.search()
    assert result.reached and result.reverted == ("b", "a", "c") and result.undone == ("c",)
    assert table.ranked == [((), ("a", "b", "c")), (("b",), ("a",)), (("b", "a"), ("c",))]
    assert table.evaluated == [("b",), ("b", "c"), ("b", "a"), ("b", "a", "c")]


def test_every_single_revert_worse_still_reaches_the_target():
    # The old speechq rule excluded each layer that once made the drop worse and stopped with nothing left.
    # Here every revert alone or in pairs is worse than the state before it; only all three in FP32 help.
    drops = {(): 0.02, ("a",): 0.03, ("b",): 0.03, ("c",): 0.03, ("a", "b"): 0.04, ("a", "c"): 0.04,
             ("b", "c"): 0.04, ("a", "b", "c"): 0.0}
    table = Table(drops, ["a", "b", "c"])
    result = table.search()
    assert result.reached and set(result.reverted) == {"a", "b", "c"} and result.drop == 0.0
    # a: worse, undone; b (ranked again without a) kept although worse; c: worse, undone; a kept; c reaches it
    assert result.reverted == ("b", "a", "c") and result.undone == ("a", "c")


def test_a_harmful_first_revert_costs_no_fp32_layer():
    # POT keeps its first revert whatever it does; here that would leave a in FP32 for nothing.
    drops = {(): 0.05, ("a",): 0.06, ("b",): 0.0}
    table = Table(drops, ["a", "b"])
    result = table.search(layers=("a", "b"))
    assert result.reached and result.reverted == ("b",) and result.undone == ("a",)


def test_without_use_prev_every_revert_is_kept():
    drops = {(): 0.05, ("a",): 0.06, ("a", "b"): 0.07, ("a", "b", "c"): 0.0}
    table = Table(drops, ["a", "b", "c"])
    result = table.search(use_prev_if_drop_increase=False)
    assert result.reverted == ("a", "b", "c") and result.undone == () and len(table.ranked) == 1


def test_the_cap_returns_the_best_state_seen():
    drops = {(): 0.05, ("a",): 0.02, ("a", "b"): 0.03, ("a", "c"): 0.04}
    table = Table(drops, ["a", "b", "c"])
    result = table.search(max_iter_num=3)
    # a kept (0.02); b worse, undone; c kept although worse (0.04): the cap stops there, and the best is ("a",)
    assert not result.reached and result.iterations == 3
    assert result.reverted == ("a",) and result.drop == 0.02 and result.evaluation == ("evaluation of", ("a",))


def test_the_layer_just_undone_is_tried_again_when_it_is_the_last_one(caplog):
    # Only with a noisy metric can the all-FP32 state be worse than the state before it; the search then ends
    # with every layer tried and returns the best state seen.
    drops = {(): 0.05, ("a",): 0.03, ("a", "b"): 0.04}
    table = Table(drops, ["a", "b"])
    result = table.search(layers=("a", "b"))
    assert table.ranked == [((), ("a", "b")), (("a",), ("b",))] and result.undone == ("b",)
    assert table.evaluated == [("a",), ("a", "b"), ("a", "b")]
    assert not result.reached and result.reverted == ("a",) and result.drop == 0.03
    assert "every layer is FP32 and the drop is still 0.04000" in caplog.text


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 6).flatmap(lambda n: st.tuples(
    st.just(n),
    st.dictionaries(st.frozensets(st.integers(0, n - 1)), st.floats(0.0, 0.1), min_size=0, max_size=64),
    st.permutations(list(range(n))),
    st.floats(0.0, 0.05),
    st.booleans(),
)))
def test_any_table_ends_at_the_target_within_two_evaluations_per_layer(case):
    """Whatever the drops, when every layer in FP32 meets the target the search reaches it without a cap, reverting
    each layer at most once, with at most one undo per kept revert."""
    n, drops, order, maximal_drop, use_prev = case
    layers = [f"l{i}" for i in range(n)]
    table = {frozenset(layers[i] for i in key): value for key, value in drops.items()}
    table[frozenset(layers)] = 0.0  # the FP32 model
    table.setdefault(frozenset(), 0.1)

    def evaluate(reverted):
        return table.get(frozenset(reverted), 0.05), reverted

    def rank(reverted, evaluation, candidates):
        return sorted(candidates, key=lambda name: order.index(layers.index(name)))

    result = search_reverts(layers, evaluate, rank, (table[frozenset()], ()), maximal_drop,
                            use_prev_if_drop_increase=use_prev)
    assert result.reached and result.drop <= maximal_drop and result.evaluation == result.reverted
    assert len(set(result.reverted)) == len(result.reverted) and set(result.reverted) <= set(layers)
    assert result.iterations == len(result.reverted) + len(result.undone) <= 2 * n
    assert table.get(frozenset(result.reverted), 0.05) == result.drop
