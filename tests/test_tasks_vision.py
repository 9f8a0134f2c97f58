"""The ViT tasks: digits (scikit-learn's 8×8 digits, fixed held-out split) and shapes (generated)."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from core.checkpoints import load_checkpoint
from core.tasks import TASKS
from core.tasks import digits as digits_mod
from core.tasks.shapes import STAMPS
from core.tasks.vision import normalise, random_shift
from core.train import train

ROOT = Path(__file__).resolve().parent.parent
VISION = ("digits", "shapes")


pytestmark = pytest.mark.usefixtures("one_thread")   # tests/conftest.py


def _tiny(task, seed=0):
    torch.manual_seed(seed)
    return task.build_model(d_model=16, n_heads=2, n_layers=1).eval()


@pytest.fixture(scope="module")
def zoo():
    """The shipped checkpoints, loaded once on the CPU."""
    return {name: load_checkpoint(ROOT / "checkpoints" / f"{name}.safetensors", "cpu")[0]
            for name in VISION}


# -- batches ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", VISION)
def test_batches_are_well_formed_and_reproducible(name):
    task = TASKS[name]
    S, C = task.image_size, len(task.class_names)
    b = task.batch(600, torch.Generator().manual_seed(3), "cpu")
    x, y = b["x"], b["y"]
    assert x.shape == (600, 1, S, S) and x.dtype == torch.float32
    assert y.shape == (600,) and y.dtype == torch.long
    flat = x.flatten(1)
    assert torch.allclose(flat.min(1).values, torch.zeros(600))          # stretched per image
    assert torch.allclose(flat.max(1).values, torch.ones(600))
    counts = torch.bincount(y, minlength=C).float()
    assert counts.min() > 0.6 * 600 / C                                   # roughly balanced
    again = task.batch(600, torch.Generator().manual_seed(3), "cpu")
    assert torch.equal(again["x"], x) and torch.equal(again["y"], y)
    other = task.batch(600, torch.Generator().manual_seed(4), "cpu")
    assert not torch.equal(other["x"], x)
    assert task.make_config().image_size == S and task.make_config().n_classes == C


def test_normalise_and_shift():
    x = torch.tensor([[[1.0, 3.0], [5.0, 5.0]], [[2.0, 2.0], [2.0, 2.0]]])   # (2, 2, 2)
    n = normalise(x)
    assert torch.allclose(n[0], torch.tensor([[0.0, 0.5], [1.0, 1.0]]))
    assert torch.equal(n[1], torch.zeros(2, 2))                           # flat -> zeros
    img = torch.zeros(50, 5, 5)
    img[:, 2, 2] = 1.0
    moved = random_shift(img, 1, torch.Generator().manual_seed(0))
    where = moved.flatten(1).argmax(1)                                    # (50,) pixel index
    rows, cols = where // 5, where % 5
    assert moved.sum() == 50                                              # nothing lost or added
    assert set(rows.tolist()) == {1, 2, 3} and set(cols.tolist()) == {1, 2, 3}


def test_digits_split_is_fixed_and_disjoint():
    tr_x, tr_y, tr_idx = digits_mod.split("train")
    te_x, te_y, te_idx = digits_mod.split("test")
    assert len(te_idx) == digits_mod.N_TEST == 360 and len(tr_idx) + len(te_idx) == 1797
    assert not set(tr_idx.tolist()) & set(te_idx.tolist())
    perm = torch.randperm(1797, generator=torch.Generator().manual_seed(digits_mod.SPLIT_SEED))
    assert torch.equal(te_idx, perm[-360:])                               # the documented split
    from sklearn.datasets import load_digits
    d = load_digits()
    assert np.allclose(te_x.numpy() * 16, d.images[te_idx.numpy()])
    assert np.array_equal(te_y.numpy(), d.target[te_idx.numpy()])
    # no held-out image appears among the training images
    dist = torch.cdist(te_x.flatten(1), tr_x.flatten(1))                  # (360, 1437)
    assert dist.min() > 0
    # every class is in the held-out split; evaluate() uses all of it for n >= 360
    assert len(set(te_y.tolist())) == 10
    ex, ey = TASKS["digits"].eval_set(2000, 5)
    assert torch.equal(ey, te_y)
    sx, sy = TASKS["digits"].eval_set(100, 5)
    assert len(sy) == 100 and torch.equal(sx, TASKS["digits"].eval_set(100, 5)[0])


def test_digits_training_batches_come_from_the_training_split():
    task = TASKS["digits"]
    task_noise, task.noise = task.noise, 0.0
    try:
        x, _ = task.sample(64, torch.Generator().manual_seed(0))          # shifted, no noise
    finally:
        task.noise = task_noise
    tr_x, _, _ = digits_mod.split("train")
    te_x, _, _ = digits_mod.split("test")
    pad_tr = F.pad(tr_x, (1, 1, 1, 1))                                    # (N, 10, 10)
    windows = pad_tr.unfold(1, 8, 1).unfold(2, 8, 1)                      # (N, 3, 3, 8, 8)
    cands = windows.reshape(-1, 64)                                       # every ±1 shift
    d = torch.cdist(x.flatten(1), cands).min(1).values                    # (64,)
    assert torch.all(d < 1e-5)                                            # a shifted train image
    pad_te = F.pad(te_x, (1, 1, 1, 1)).unfold(1, 8, 1).unfold(2, 8, 1).reshape(-1, 64)
    assert torch.cdist(x.flatten(1), pad_te).min() > 0


def test_shapes_objects_are_inside_and_match_their_class():
    task = TASKS["shapes"]
    x, y, corner = task.generate(300, torch.Generator().manual_seed(0))
    k = STAMPS.size(-1)
    assert corner.min() >= 0 and corner.max() <= task.image_size - k      # fully inside
    assert x.min() >= 0 and x.max() <= 1
    # the window at the recorded corner holds exactly the class's stamp (bright pixels)
    rows = corner[:, :1] + torch.arange(k)
    cols = corner[:, 1:] + torch.arange(k)
    win = x[torch.arange(300)[:, None, None], rows[:, :, None], cols[:, None, :]]  # (300, k, k)
    assert torch.equal((win >= 0.7).float(), STAMPS[y])
    # a matched filter finds the class's stamp anywhere in the image: +1 for each bright pixel
    # the stamp has, -1 for each it lacks, divided by the stamp's size (1.0 = a perfect match)
    bright = (x >= 0.55).float()[:, None]                                 # (300, 1, S, S)
    filters = (2 * STAMPS - 1) / STAMPS.sum((1, 2), keepdim=True)         # (3, k, k)
    resp = F.conv2d(bright, filters[:, None]).flatten(2).max(2).values    # (300, 3)
    assert torch.equal(resp.argmax(1), y)
    assert torch.allclose(resp[torch.arange(300), y], torch.ones(300))


# -- training --------------------------------------------------------------------------------
@pytest.mark.parametrize("name", VISION)
def test_short_training_lowers_the_loss(name):
    task = TASKS[name]
    torch.manual_seed(0)
    model = task.build_model(d_model=32, n_heads=2, n_layers=1)
    r = train(model, task, steps=150, lr=1e-2, batch_size=64, warmup=10, eval_every=0,
              eval_n=100)
    first, last = np.mean(r.losses[:10]), np.mean(r.losses[-10:])
    assert last < 0.85 * first, (first, last)
    assert set(r.metrics) >= {"accuracy", "n"}


# -- a user's input --------------------------------------------------------------------------
@pytest.mark.parametrize("name", VISION)
def test_predict_and_inspect_shapes_and_labels(name):
    task = TASKS[name]
    model = _tiny(task)
    cfg = model.cfg
    img, label = task.fixed_example(1)
    preds = task.predict(model, [img, torch.from_numpy(img), "sample 2", task.class_names[0]])
    assert len(preds) == 4 and all(isinstance(p, int) and 0 <= p < cfg.n_classes for p in preds)
    assert preds[0] == preds[1]
    ins = task.inspect(model, img, return_scores=True)
    N = cfg.n_patches
    assert set(ins.attention) == set(model.attention_names())
    for name_, att in ins.attention.items():
        assert att.shape == (cfg.n_heads, 1 + N, 1 + N)
        assert torch.allclose(att.sum(-1), torch.ones(cfg.n_heads, 1 + N), atol=1e-5)
        q, k = ins.labels[name_]
        assert q == k == ["CLS"] + [f"p{i}" for i in range(N)]
        assert ins.scores[name_].shape == att.shape
    probs = ins.probs.numpy()
    assert probs.shape == (cfg.n_classes,) and abs(probs.sum() - 1) < 1e-5
    assert ins.prediction == int(probs.argmax()) == preds[0]
    assert ins.classes == list(task.class_names)
    assert ins.picture.image.shape == (cfg.image_size, cfg.image_size)
    assert ins.picture.grid ** 2 == N and ins.picture.patch_size == cfg.patch_size
    # switching every head off changes the attention-dependent output
    off = {n: torch.zeros(cfg.n_heads) for n in model.attention_names()}
    masked = task.inspect(model, img, head_mask=off)
    assert not np.allclose(masked.probs.numpy(), probs)
    (px,), labels = task.probe("cpu")
    assert px.shape == (1, 1, cfg.image_size, cfg.image_size)
    assert labels["encoder.blocks.5.self_attn"][0][0] == "CLS"
    for text in task.examples:
        assert task.parse(text).shape == (cfg.image_size, cfg.image_size)


@pytest.mark.parametrize("name", VISION)
@pytest.mark.parametrize("bad, words", [
    (np.zeros(5), "(H, W)"),
    (np.zeros((2, 3, 8, 8)), "(H, W)"),
    (np.full((8, 8), np.nan), "NaN"),
    (np.zeros((0, 8)), "empty"),
    ("", "empty"),
    ("a dog", "not an image"),
    ("sample 99999999", "not an image"),
    (b"not a picture", "PNG or JPEG"),
    (None, "no image"),
])
def test_bad_inputs_are_refused(name, bad, words):
    task = TASKS[name]
    model = _tiny(task)
    with pytest.raises(ValueError) as e:
        task.predict(model, [bad])
    assert words.lower() in str(e.value).lower()


@pytest.mark.parametrize("name", VISION)
def test_predict_needs_a_list(name):
    task = TASKS[name]
    model = _tiny(task)
    img, _ = task.fixed_example(0)
    rgb = np.stack([img] * 3, axis=-1)                                    # (S, S, 3): one image
    for bad in ([], img, rgb, torch.from_numpy(img), "ring"):
        with pytest.raises(ValueError, match="list|no images"):
            task.predict(model, bad)
    assert len(task.predict(model, [rgb, (img,)[0]])) == 2                # a list is fine
    with pytest.raises(ValueError, match="image 1"):
        task.predict(model, [img, np.zeros(3)])


# -- the shipped checkpoints ----------------------------------------------------------------
def test_zoo_digits_scores_the_whole_held_out_split_and_predicts_raw_images(zoo):
    task, model = TASKS["digits"], zoo["digits"]
    m = task.evaluate(model, n=2000, seed=99)
    assert m["n"] == 360 and task.meets_bar(m), m
    # predict() on the raw held-out images (values 0..16) agrees with the batched evaluation
    te_x, te_y, _ = digits_mod.split("test")
    raw = [(im * 16).numpy() for im in te_x[:100]]
    direct = model(normalise(te_x[:100]).unsqueeze(1)).logits.argmax(-1).tolist()
    assert task.predict(model, raw) == direct


def test_zoo_digits_reads_a_drawing(zoo):
    """A held-out digit drawn big, dark on white, off-centre on a PNG canvas is still read."""
    task, model = TASKS["digits"], zoo["digits"]
    te_x, te_y, _ = digits_mod.split("test")
    drawings = []
    for i in range(60):
        big = np.kron(te_x[i].numpy(), np.ones((8, 8)))                   # (64, 64)
        canvas = np.full((120, 150), 255, np.uint8)                       # white paper
        canvas[20 + i % 30:84 + i % 30, 40 + i % 40:104 + i % 40] = (255 * (1 - big)).astype(np.uint8)
        buf = io.BytesIO()
        Image.fromarray(canvas).save(buf, format="PNG")
        drawings.append(buf.getvalue())
    acc = np.mean(np.array(task.predict(model, drawings)) == te_y[:60].numpy())
    assert acc >= 0.9, acc


def test_zoo_shapes_attention_finds_the_object(zoo):
    """The first layer's CLS query puts most of its attention on the patches under the object."""
    task, model = TASKS["shapes"], zoo["shapes"]
    x, _, corner = task.generate(200, torch.Generator().manual_seed(5))
    p, g, k = model.cfg.patch_size, model.cfg.grid_size, STAMPS.size(-1)
    first, last = corner // p, (corner + k - 1) // p                      # (200, 2) patch rows/cols
    pr, pc = torch.arange(g)[:, None], torch.arange(g)[None, :]           # patch grid indices
    on = ((pr[None] >= first[:, 0, None, None]) & (pr[None] <= last[:, 0, None, None])
          & (pc[None] >= first[:, 1, None, None]) & (pc[None] <= last[:, 1, None, None]))
    on = on.flatten(1).float()                                            # (200, N)
    with torch.no_grad():
        att = model(normalise(x).unsqueeze(1), return_attention=True).attention
    cls = att["encoder.blocks.0.self_attn"][:, :, 0, 1:]                  # (200, H, N)
    mass = (cls * on[:, None]).sum(-1).mean()                             # over images and heads
    chance = on.sum(1).mean() / on.size(1)
    assert mass > 0.6 and mass > 2 * chance, (float(mass), float(chance))
