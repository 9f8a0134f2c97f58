"""core.naming: the names a user gives a saved model, checked before anything is written."""
from __future__ import annotations

import pytest

from core import naming
from core.tasks import TASKS


@pytest.mark.parametrize("bad", ["", "   ", "../x", "a/b", "a\\b", "a.b", "a b", "x" * 41, "sort",
                                 "SORT", "nul", "COM1", "ü", None, 7])
def test_names_refused_with_a_message(bad):
    with pytest.raises(ValueError) as e:
        naming.check_name(bad, reserved=TASKS)
    assert str(e.value) and "Traceback" not in str(e.value)


def test_a_refusal_names_the_characters_that_are_not_allowed():
    with pytest.raises(ValueError, match=r"'\.'.*'/'|'/'.*'\.'"):
        naming.check_name("../up")


def test_names_accepted_trimmed_and_the_longest_allowed():
    assert naming.check_name(" my-model_2 ", reserved=TASKS) == "my-model_2"
    assert naming.check_name("x" * naming.MAX_LEN) == "x" * naming.MAX_LEN
    assert naming.check_name("sortish", reserved=TASKS) == "sortish"


def test_existing_ignores_case_and_other_files(tmp_path):
    (tmp_path / "Mine.safetensors").write_bytes(b"")
    (tmp_path / "other.txt").write_bytes(b"")
    assert naming.existing("mine", tmp_path) == "Mine"
    assert naming.existing("MINE", tmp_path) == "Mine"
    assert naming.existing("other", tmp_path) is None
    assert naming.existing("mine", tmp_path / "missing") is None
