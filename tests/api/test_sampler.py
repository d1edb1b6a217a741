import numpy as np
import pytest
from speechq_testing import ArrayLoader

import speechq as sq
from speechq.api.data_loader import unpack_item


@pytest.fixture()
def loader() -> ArrayLoader:
    return ArrayLoader(np.arange(10, dtype=np.float32).reshape(10, 1), list(range(10)))


def test_batch_sampler_batches_in_order_with_short_last_batch(loader):
    sampler = sq.BatchSampler(loader, batch_size=4)
    batches = list(sampler)
    assert len(sampler) == 3
    assert [[s.index for s in b] for b in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert [s.annotation for s in batches[2]] == [8, 9]


def test_subset_indices_are_visited_in_given_order(loader):
    sampler = sq.IndexSampler(loader, subset_indices=[7, 2, 5])
    assert [b[0].index for b in sampler] == [7, 2, 5]
    assert [float(b[0].data[0]) for b in sampler] == [7.0, 2.0, 5.0]


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_bad_batch_size_names_parameter(loader, bad):
    with pytest.raises(sq.ConfigError, match="batch_size"):
        sq.BatchSampler(loader, batch_size=bad)


def test_out_of_range_subset_is_refused(loader):
    with pytest.raises(sq.ConfigError, match=r"subset_indices \[10\]"):
        sq.IndexSampler(loader, subset_indices=[1, 10])


def test_loader_raises_index_error_past_end_and_iterates(loader):
    with pytest.raises(IndexError):
        loader[10]
    assert len(list(loader)) == 10


def test_unpack_item_accepts_pot_shapes_and_rejects_others():
    sample = unpack_item((np.zeros(2), "ref", {"num_steps": 3}), 4)
    assert sample.index == 4 and sample.annotation == "ref" and sample.metadata == {"num_steps": 3}
    assert unpack_item((np.zeros(2), None), 0).metadata == {}
    with pytest.raises(sq.DataError, match="item 5"):
        unpack_item(np.zeros(2), 5)
    with pytest.raises(sq.DataError, match="metadata must be a dict"):
        unpack_item((np.zeros(2), None, [1]), 1)


def test_metric_group_merges_names_values_and_directions():
    from speechq_testing import Accuracy

    group = sq.MetricGroup(Accuracy(), Accuracy(as_error=True))
    group.update([np.array([[0.1, 0.9], [0.8, 0.2]])], [1, 1])
    assert group.value == {"accuracy": [1.0, 0.0], "error": [0.0, 1.0]}
    assert group.avg_value == {"accuracy": 0.5, "error": 0.5}
    assert group.get_attributes()["error"]["direction"] == "higher-worse"
    group.reset()
    group.update([np.array([[0.1, 0.9]])], [1])
    assert group.avg_value == {"accuracy": 1.0, "error": 0.0}
    with pytest.raises(sq.ConfigError, match="clash"):
        sq.MetricGroup(Accuracy(), Accuracy())
