"""The rule by which nbval's comparison takes printed figures as equal (notebooks/conftest.py)."""

import importlib.util
from pathlib import Path

import nbformat
import pytest

spec = importlib.util.spec_from_file_location("notebook_conftest", Path(__file__).parent.parent / "notebooks" / "conftest.py")
notebook_conftest = importlib.util.module_from_spec(spec)
spec.loader.exec_module(notebook_conftest)


@pytest.mark.parametrize("stored, fresh", [
    ("precision 0.659\n", "precision 0.658\n"),  # one unit of the last digit
    ("FD 28.06 ± 0.48  CS 8.65\n", "FD 28.07 ± 0.48  CS 8.64\n"),
    ("accuracy 64.6%\n", "accuracy 64.5%\n"),
    ("p 1.6e-06\n", "p 1.7e-06\n"),
    ("0.0100 and 0.0099\n", "0.0099 and 0.0100\n"),
])
def test_a_rounding_difference_in_the_last_digit_agrees(stored, fresh):
    assert notebook_conftest.agree_to_last_digit(stored, fresh)


@pytest.mark.parametrize("stored, fresh", [
    ("precision 0.659\n", "precision 0.657\n"),  # two units
    ("precision 0.659\n", "precision 0.66\n"),  # another precision
    ("steps trained: 32\n", "steps trained: 33\n"),  # a count is exact
    ("10,000 × 3\n", "10,001 × 3\n"),
    ("recall 0.52\n", "precision 0.52\n"),  # a word
    ("[1.0, 2.0]\n", "[1.0, 2.0, 3.0]\n"),  # another shape
    ("8.35\n", "-8.35\n"),
])
def test_anything_else_differs(stored, fresh):
    assert not notebook_conftest.agree_to_last_digit(stored, fresh)


def test_outputs_are_aligned_by_kind_and_rank():
    ref = [nbformat.v4.new_output("stream", name="stdout", text="a 0.659\n"),
           nbformat.v4.new_output("execute_result", data={"text/plain": "x 1.25"}, execution_count=1)]
    test = [nbformat.v4.new_output("stream", name="stderr", text="noise 123\n"),
            nbformat.v4.new_output("stream", name="stdout", text="a 0.658\n"),
            nbformat.v4.new_output("execute_result", data={"text/plain": "x 1.27"}, execution_count=1)]
    aligned = notebook_conftest.align_rounding(test, ref)
    assert aligned[0]["text"] == "noise 123\n"
    assert aligned[1]["text"] == "a 0.659\n"  # taken as the stored text
    assert aligned[2]["data"]["text/plain"] == "x 1.27"  # two units: left for nbval to report
