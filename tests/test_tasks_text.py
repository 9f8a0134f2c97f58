"""The text tasks sort, reverse and addition: batches, input checking, predictions, checkpoints."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from core.checkpoints import load_checkpoint
from core.tasks import IGNORE, TASKS
from core.tasks.vocab import EOS, PAD
from core.train import train

TEXT = ("sort", "reverse", "addition")
ROOT = Path(__file__).resolve().parents[1]


pytestmark = pytest.mark.usefixtures("one_thread")   # tests/conftest.py


def gen(seed):
    return torch.Generator().manual_seed(seed)


@pytest.fixture(scope="module")
def shipped():
    """The shipped checkpoints, loaded once on the CPU."""
    return {n: load_checkpoint(ROOT / "checkpoints" / f"{n}.safetensors", device="cpu")[0]
            for n in TEXT}


# -- batches -----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", TEXT)
def test_batch_shapes_vocab_and_seeds(name, device):
    task = TASKS[name]
    b = task.batch(256, gen(0), device)
    x, y = b["x"], b["y"]
    assert x.shape == y.shape and x.shape[0] == 256 and x.dtype == y.dtype == torch.long
    assert x.device.type == device.type and y.device.type == device.type
    n_vocab = task.make_config().vocab_size
    assert 0 <= int(x.min()) and int(x.max()) < n_vocab
    real = y[y != IGNORE]
    assert real.numel() > 0 and 0 <= int(real.min()) and int(real.max()) < n_vocab
    assert not (real == PAD).any(), "padding must never be a target"
    assert x.shape[1] <= task.make_config().max_len
    again = task.batch(256, gen(0), device)
    assert torch.equal(again["x"], x) and torch.equal(again["y"], y)
    other = task.batch(256, gen(1), device)
    assert not torch.equal(other["x"], x)


def test_sort_batch_is_sorted_with_padding_ignored():
    b = TASKS["sort"].batch(512, gen(3), "cpu")
    x, y = b["x"], b["y"]
    pad = x == PAD
    assert torch.equal(pad, y == IGNORE)
    lengths = (~pad).sum(1)
    assert int(lengths.min()) == 1 and int(lengths.max()) == 20
    # padding only at the end: once a row pads, it stays padded
    assert torch.equal(pad, pad.cummax(1).values)
    assert int(x[~pad].min()) >= 3 and int(x[~pad].max()) <= 11       # digits 1..9 -> ids 3..11
    for row_x, row_y, n in zip(x, y, lengths):
        n = int(n)
        assert row_y[:n].tolist() == sorted(row_x[:n].tolist())


def test_reverse_batch_layout():
    task = TASKS["reverse"]
    b = task.batch(300, gen(5), "cpu")
    x, y, plen = b["x"], b["y"], b["prompt_len"]
    lengths = set()
    for i in range(x.size(0)):
        p = int(plen[i])
        text = task.vocab.decode(x[i, :p].tolist())
        assert text.endswith(">") and text[:-1].isdigit()
        digits = text[:-1]
        lengths.add(len(digits))
        assert (y[i, :p - 1] == IGNORE).all(), "prompt tokens must not be trained on"
        answer = y[i, p - 1:p - 1 + len(digits) + 1].tolist()
        assert task.vocab.decode(answer) == digits[::-1] and answer[-1] == EOS
        assert (y[i, p + len(digits):] == IGNORE).all(), "nothing is trained after <eos>"
        # the input is the target shifted by one
        assert x[i, p:p + len(digits)].tolist() == answer[:-1]
    assert min(lengths) == 1 and max(lengths) == 16


def test_addition_batch_layout():
    task = TASKS["addition"]
    b = task.batch(300, gen(7), "cpu")
    x, y = b["x"], b["y"]
    assert x.shape[1] == 12
    for i in range(x.size(0)):
        prompt = task.vocab.decode(x[i, :8].tolist())
        a, rest = prompt.split("+")
        assert len(a) == 3 and rest.endswith("=") and len(rest) == 4
        assert (y[i, :7] == IGNORE).all()
        answer = task.vocab.decode(y[i, 7:].tolist())                   # 4 digits, ones first
        assert int(answer[::-1]) == int(a) + int(rest[:-1]) and int(y[i, -1]) == EOS
    zero = task.vocab.stoi["0"]
    one_digit = (x[:, 0] == zero) & (x[:, 1] == zero)                   # first operand < 10
    assert one_digit.float().mean() > 0.2, "short operands must be common, not 1 in 100"


# -- input checking ----------------------------------------------------------------------------
@pytest.mark.parametrize("text, expected", [("3 1 2", [3, 1, 2]), ("312", [3, 1, 2]),
                                            ("3,1,2", [3, 1, 2]), (" 9, 9 ,1 ", [9, 9, 1])])
def test_sort_parse_accepts(text, expected):
    assert TASKS["sort"].parse(text) == expected


@pytest.mark.parametrize("name, text, words", [
    ("sort", "", "at least one"), ("sort", "   ", "at least one"), ("sort", "3 0 2", "0"),
    ("sort", "12a", "'a'"), ("sort", "1" * 21, "at most 20"), ("sort", "3 10 2", "'10'"),
    ("reverse", "", "at least one"), ("reverse", "12a", "'a'"), ("reverse", "1" * 17, "16"),
    ("addition", "12a+3", "'a'"), ("addition", "1234+1", "1234"), ("addition", "+", "two numbers"),
    ("addition", "", "123+456"), ("addition", "1+2+3", "two numbers"),
    ("addition", "-1+2", "'-'"),
])
def test_parse_rejects_with_a_clear_message(name, text, words):
    with pytest.raises(ValueError) as err:
        TASKS[name].parse(text)
    assert words in str(err.value)


@pytest.mark.parametrize("name, bad", [
    ("sort", [[3, 0, 2]]), ("sort", [[]]), ("sort", [list(range(1, 10)) * 3]), ("sort", "312"),
    ("sort", [[3, "x"]]), ("sort", [[True, 2]]), ("reverse", ["12a"]), ("reverse", [""]),
    ("reverse", [123]), ("addition", ["1234+1"]), ("addition", ["1+"]), ("addition", [None]),
])
def test_predict_rejects_bad_input(name, bad, shipped):
    with pytest.raises(ValueError):
        TASKS[name].predict(shipped[name], bad)


def test_predict_of_nothing_is_empty(shipped):
    for name in TEXT:
        assert TASKS[name].predict(shipped[name], []) == []


# -- predictions of the shipped models ---------------------------------------------------------
def test_sort_predicts(shipped):
    task, model = TASKS["sort"], shipped["sort"]
    assert task.predict(model, [[3, 1, 2]]) == [[1, 2, 3]]
    g = gen(11)
    examples = [torch.randint(1, 10, (int(n),), generator=g).tolist()
                for n in torch.randint(1, 21, (50,), generator=g)]
    got = task.predict(model, examples + ["9 8 7"])
    assert sum(p == sorted(e) for p, e in zip(got, examples)) >= 47
    assert got[-1] == [7, 8, 9]


def test_reverse_predicts(shipped):
    task, model = TASKS["reverse"], shipped["reverse"]
    assert task.predict(model, ["123"]) == ["321"]
    g = gen(12)
    examples = ["".join(map(str, torch.randint(0, 10, (int(n),), generator=g).tolist()))
                for n in torch.randint(1, 17, (50,), generator=g)]
    got = task.predict(model, examples)
    assert sum(p == e[::-1] for p, e in zip(got, examples)) >= 48


def test_addition_predicts(shipped):
    task, model = TASKS["addition"], shipped["addition"]
    assert task.predict(model, ["123+456", "123+456=", " 7 + 5 "]) == ["579", "579", "12"]
    g = gen(13)
    pairs = torch.randint(0, 1000, (60, 2), generator=g).tolist()
    got = task.predict(model, [f"{a}+{b}" for a, b in pairs])
    assert sum(p == str(a + b) for p, (a, b) in zip(got, pairs)) >= 58


def test_decoder_exact_equals_greedy_generation(shipped):
    """evaluate() scores teacher-forced; its exact must equal free-running greedy decoding."""
    task, model = TASKS["addition"], shipped["addition"]
    g = gen(21)
    pairs = torch.randint(0, 1000, (200, 2), generator=g).tolist()
    got = task.predict(model, [f"{a}+{b}" for a, b in pairs])
    seq = task.encode_pairs(torch.tensor(pairs)[:, 0], torch.tensor(pairs)[:, 1])
    b = task.teacher_forcing(seq, torch.full((200,), 8))
    logits = model(b["x"]).logits
    scored = b["y"] != IGNORE
    tf_exact = ((logits.argmax(-1) == b["y"]) | ~scored).all(1)
    greedy_exact = torch.tensor([p == str(a + c) for p, (a, c) in zip(got, pairs)])
    assert torch.equal(tf_exact, greedy_exact)


# -- inspection --------------------------------------------------------------------------------
def test_sort_inspect(shipped):
    task, model = TASKS["sort"], shipped["sort"]
    ins = task.inspect(model, "5 3 8 1", return_scores=True)
    assert ins.prediction == [1, 3, 5, 8]
    assert set(ins.attention) == set(model.attention_names())
    for name, att in ins.attention.items():
        assert att.shape == (model.cfg.n_heads, 4, 4)
        assert torch.allclose(att.sum(-1), torch.ones(model.cfg.n_heads, 4), atol=1e-5)
        assert ins.labels[name] == (["5", "3", "8", "1"], ["5", "3", "8", "1"])
        assert ins.scores[name].shape == att.shape
    assert ins.probs.shape == (4, 9)


def test_reverse_inspect_shows_the_anti_diagonal(shipped):
    task, model = TASKS["reverse"], shipped["reverse"]
    ins = task.inspect(model, "31415926")
    assert ins.prediction == "62951413"
    n = 8
    labels = list("31415926") + [">"] + list("62951413") + ["<eos>"]
    assert ins.tokens == labels
    # some head, in some layer, makes the query that writes answer digit k look at prompt
    # digit n-1-k: the query at position n+k (predicting answer k) attends most to key n-1-k
    best = 0.0
    for name, att in ins.attention.items():
        assert att.shape[1:] == (len(labels), len(labels)) and ins.labels[name] == (labels, labels)
        for h in range(att.size(0)):
            hits = sum(int(att[h, n + k].argmax()) in (n - 1 - k, n - k) for k in range(n))
            best = max(best, hits / n)
    assert best >= 0.75


def test_addition_inspect_shows_what_the_model_sees(shipped):
    task, model = TASKS["addition"], shipped["addition"]
    ins = task.inspect(model, "7+5")
    assert ins.prediction == "12"
    assert ins.tokens == list("007+005=2100") + ["<eos>"]
    name = model.attention_names()[0]
    assert ins.labels[name][0] == ins.tokens and ins.attention[name].shape[-1] == 13


def test_head_mask_reaches_the_model(shipped):
    task, model = TASKS["sort"], shipped["sort"]
    off = {n: torch.zeros(model.cfg.n_heads) for n in model.attention_names()}
    plain = task.inspect(model, "9 8 7 6 5 4 3 2 1").probs
    masked = task.inspect(model, "9 8 7 6 5 4 3 2 1", head_mask=off).probs
    assert not torch.allclose(plain, masked)


# -- the positional-encoding lesson ------------------------------------------------------------
@pytest.mark.slow
def test_sort_without_positions_cannot_sort():
    """With pos="none" the encoder is permutation-equivariant: shuffling the input shuffles the
    output the same way, so it cannot put digits in order. The same short training that teaches
    the learned-position model a lot leaves it unable to sort."""
    task = TASKS["sort"]
    results = {}
    for pos in ("learned", "none"):
        torch.manual_seed(0)
        model = task.build_model(pos=pos)
        train(model, task, steps=150, seed=0, eval_every=0)
        x = torch.tensor([[5, 9, 4, 7, 11, 3]])
        perm = torch.tensor([3, 0, 5, 1, 4, 2])
        with torch.no_grad():
            a = model(x).logits[0, perm]
            b = model(x[:, perm]).logits[0]
        results[pos] = (task.evaluate(model, n=1000, seed=5), torch.allclose(a, b, atol=1e-4))
    assert results["none"][1] and not results["learned"][1]
    learned, none = results["learned"][0], results["none"][0]
    assert none["exact"] < 0.15 and none["token_acc"] < 0.5
    assert learned["token_acc"] > 0.8 and learned["exact"] > none["exact"] + 0.25


# -- the right answers (Inspection.expected, what the explorer checks a prediction against) ----
def test_each_task_knows_the_right_answer_of_an_input():
    assert TASKS["sort"].answer("3 1 2 1") == [1, 1, 2, 3]
    assert TASKS["reverse"].answer("31415") == "51413"
    assert TASKS["addition"].answer("999+1") == "1000" == TASKS["addition"].answer((999, 1))
    assert TASKS["dates"].answer("nov 22, 26") == "2026-11-22"
    assert TASKS["dates"].answer("sometime soon") is None            # no known format
    assert TASKS["shapes"].answer("ring") == TASKS["shapes"].class_names.index("ring")
    assert TASKS["digits"].answer("sample 7") == TASKS["digits"].fixed_example(7)[1]
    assert TASKS["digits"].answer("not a sample") is None
    assert TASKS["sine"].answer("4") == TASKS["sine"].sample(4)[1]
    assert TASKS["sine"].answer(", ".join(["0.5"] * 100)) is None      # not one of the samples


def test_the_shipped_models_are_right_on_the_text_examples(shipped):
    for name, model in shipped.items():
        task = TASKS[name]
        for text in task.examples:
            ins = task.inspect(model, task.parse(text))
            assert ins.expected is not None and ins.prediction == ins.expected, (name, text)
