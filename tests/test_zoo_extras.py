"""The lesson checkpoint sort_nopos: sort without positional encoding, shipped to fail."""
from pathlib import Path

from core.checkpoints import load_checkpoint
from core.tasks import TASKS
from core.zoo import EXTRAS, shipped_names

CKPT = Path(__file__).resolve().parents[1] / "checkpoints"


def test_sort_without_positions_cannot_sort_but_with_them_it_can():
    task = TASKS["sort"]
    nopos, info = load_checkpoint(CKPT / "sort_nopos.safetensors", "cpu")
    assert nopos.cfg.pos == "none" and info["task"] == "sort"
    with_pe, _ = load_checkpoint(CKPT / "sort.safetensors", "cpu")
    blind = task.evaluate(nopos, n=300, seed=77)
    seeing = task.evaluate(with_pe, n=300, seed=77)
    assert blind["exact"] < 0.3 < 0.97 <= seeing["exact"]
    # the info shipped in the file is what the positional page shows: it must be the truth
    assert abs(info["metrics"]["exact"] - blind["exact"]) < 0.1


def test_every_shipped_file_is_known_as_shipped():
    """The picker marks these files as shipped and a user cannot save a model over them: each
    file in checkpoints/ is a shipped name, and each trainable task and lesson has its file."""
    files = {p.stem for p in CKPT.glob("*.safetensors")}
    assert files <= shipped_names()
    assert {n for n, t in TASKS.items() if t.trains} | set(EXTRAS) <= files


def test_every_shipped_file_is_what_its_zoo_recipe_builds():
    """`python -m core.zoo` reproduces the shipped files: each one's architecture is its task's
    zoo recipe (preset and overrides, plus the lesson's own), even where the Train page's live
    default differs (sort and reverse train live with d_ff 2·d_model, shipped with 4·d_model)."""
    from core.checkpoints import read_metadata
    wanted = {name: (task, {}) for name, task in TASKS.items() if task.trains}
    wanted.update({name: (TASKS[task], extra) for name, (task, extra) in EXTRAS.items()})
    for name, (task, extra) in wanted.items():
        r = task.zoo_recipe
        cfg = read_metadata(CKPT / f"{name}.safetensors")["config"]
        assert cfg == task.make_config(r.preset, **{**r.overrides, **extra}), name
