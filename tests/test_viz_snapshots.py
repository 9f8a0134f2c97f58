"""The Train page's attention snapshots: names in words, keys ordered by value (viz/training.py)."""
import numpy as np
import pytest

from viz.training import attention_title, order_keys, snapshot_heatmap, value_order


@pytest.mark.parametrize("name, head, words", [
    ("encoder.blocks.2.self_attn", 1, "encoder layer 2, head 1"),
    ("decoder.blocks.0.self_attn", 0, "decoder layer 0, head 0"),
    ("decoder.blocks.3.cross_attn", 3, "decoder layer 3, cross-attention head 3"),
    ("decoder.blocks.1.cross_attn", None, "decoder layer 1, cross-attention"),
    ("blocks.4.self_attn", 2, "layer 4, head 2"),
    ("something.else", 1, "something.else, head 1"),
])
def test_attention_title_in_words(name, head, words):
    assert attention_title(name, head) == words


def test_a_perfect_sorter_becomes_the_identity_when_keys_are_ordered_by_value():
    rng = np.random.default_rng(0)
    for _ in range(20):
        x = rng.integers(1, 10, size=rng.integers(2, 21))               # digits, with repeats
        T = x.size
        rank = np.empty(T, dtype=int)
        rank[np.argsort(x, kind="stable")] = np.arange(T)                # rank of each input
        w = np.zeros((T, T))
        w[rank, np.arange(T)] = 1.0          # output position i attends to the input of rank i
        order = value_order([str(v) for v in x])
        np.testing.assert_array_equal(order_keys(w, order), np.eye(T))
        assert list(x[order]) == sorted(x)


def test_value_order_is_stable_and_refuses_words():
    assert value_order(["3", "1", "3", "2"]).tolist() == [1, 3, 0, 2]
    assert value_order(["0.5", "-1.25", "1e3"]).tolist() == [1, 0, 2]
    assert value_order(["3", "<eos>"]) is None and value_order(["nan", "1"]) is None
    with pytest.raises(ValueError):
        order_keys(np.eye(3), [0, 0, 1])


def test_snapshot_heatmap_names_the_head_and_permutes_keys_with_their_labels():
    x = ["7", "3", "9", "1"]
    w = np.random.default_rng(1).random((4, 4))
    fig = snapshot_heatmap(w, x, x, "encoder.blocks.1.self_attn", 0, 300, keys_by_value=True,
                           presenter=True)
    assert fig.layout.title.text.replace("<br>", " ") == "encoder layer 1, head 0 at step 300"
    np.testing.assert_allclose(fig.data[0].z, w[:, [3, 1, 0, 2]])
    assert list(fig.layout.xaxis.ticktext) == ["1", "3", "7", "9"]
    assert list(fig.layout.yaxis.ticktext) == x                          # queries unchanged
    assert "sorted by value" in fig.layout.xaxis.title.text
    plain = snapshot_heatmap(w, x, x, "encoder.blocks.1.self_attn", 0, 300)
    np.testing.assert_allclose(plain.data[0].z, w)
    words = snapshot_heatmap(w, list("abcd"), list("abcd"), "encoder.blocks.0.self_attn", 1, 5,
                             keys_by_value=True)                         # not numbers: as is
    np.testing.assert_allclose(words.data[0].z, w)


def test_a_model_with_one_attention_module_is_named_in_words():
    """The GRU's single additive attention has no layers: its name still reads as words."""
    assert attention_title("decoder.cross_attn", 0) == "decoder cross-attention, head 0"
    assert attention_title("decoder.cross_attn") == "decoder cross-attention"
    assert attention_title("encoder.self_attn", 1) == "encoder self-attention, head 1"
