"""nbval settings for the notebooks.

**stderr is not compared**: TensorFlow writes C++ log lines there (CPU feature notices, the absent
CUDA driver) that carry timestamps and process ids, so they differ on every run. Everything a
reader is meant to check (printed numbers, shapes, tables) goes to stdout and is compared.

**Figures go to a scratch folder**: the notebooks write their figures to ``$GANKIT_FIGURES``
when it is set (else to ``img/``); it is set here, so ``pytest --nbval`` leaves the tracked
figures as they are. The committed figures are remade by executing the notebooks themselves
(`docs/reproducibility.md`).

**Printed numbers agree to their last digit**: the same notebook run on another machine, with
other kernels (oneDNN or not, AVX-512 or not) or another thread count, computes the same figures
with other rounding errors; a value that lies near a rounding boundary of its printed precision
can then print one unit lower or higher in its last digit (0.659 against 0.658). Such a pair is
taken as equal. Any other difference -- a word, a shape, a count, or a number that moved by more
than one unit of its last printed digit -- fails as nbval always fails. The notebooks print every
figure at a precision whose last digit moved by less than one unit between the numeric settings
we measured (``tools/numeric_drift.py``; `docs/reproducibility.md`).
"""

from __future__ import annotations

import os
import re
import tempfile

import nbformat
from nbval.plugin import IPyNbCell

os.environ.setdefault("GANKIT_FIGURES", tempfile.mkdtemp(prefix="gankit-figures-"))

# A printed number: sign, digits (thousands may be split by commas), decimals, exponent.
NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:e[-+]?\d+)?")


def last_digit_unit(token: str) -> float:
    """The value of one unit in the last printed digit of ``token`` ("0.659" -> 0.001)."""
    mantissa, _, exponent = token.replace(",", "").lower().partition("e")
    decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
    return 10.0 ** (int(exponent or 0) - decimals)


def agree_to_last_digit(stored: str, fresh: str) -> bool:
    """Whether two printed texts are the same but for numbers one unit apart in their last digit."""
    if stored == fresh:
        return True
    stored_parts, fresh_parts = NUMBER.split(stored), NUMBER.split(fresh)
    stored_numbers, fresh_numbers = NUMBER.findall(stored), NUMBER.findall(fresh)
    if stored_parts != fresh_parts or len(stored_numbers) != len(fresh_numbers):
        return False  # words, layout or the count of numbers differ
    for a, b in zip(stored_numbers, fresh_numbers):
        if a == b:
            continue
        if not any(mark in a.lower() + b.lower() for mark in ".e"):
            return False  # integers are counts, sizes and seeds: exact
        unit = last_digit_unit(a)
        if unit != last_digit_unit(b):
            return False  # printed at another precision: not a rounding difference
        if abs(float(a.replace(",", "")) - float(b.replace(",", ""))) > 1.5 * unit:  # 1 unit, plus float slack
            return False
    return True


def text_of(output):
    """``(kind, text)`` of an output nbval compares as text: a stream by its name, a result or
    display by its ``text/plain``; ``(None, None)`` for anything else."""
    if output.get("output_type") == "stream":
        return output.get("name"), output.get("text")
    if "text/plain" in output.get("data", {}):
        return "text/plain", output["data"]["text/plain"]
    return None, None


def align_rounding(test: list, ref: list) -> list:
    """``test`` outputs, with each text that agrees to the last digit with the stored text of
    the same kind and rank (the k-th stdout stream with the k-th, ...) replaced by the stored
    text, so that nbval's own comparison sees no difference there."""
    stored_texts = {}
    for output in ref:
        kind, text = text_of(output)
        stored_texts.setdefault(kind, []).append(text)
    seen = {}
    aligned = []
    for output in test:
        kind, text = text_of(output)
        rank = seen[kind] = seen.get(kind, -1) + 1
        candidates = stored_texts.get(kind, [])
        if kind is not None and rank < len(candidates) and agree_to_last_digit(candidates[rank], text):
            output = nbformat.from_dict(dict(output))
            if kind == "text/plain":
                output["data"] = {**output["data"], "text/plain": candidates[rank]}
            else:
                output["text"] = candidates[rank]
        aligned.append(output)
    return aligned


_compare_outputs = IPyNbCell.compare_outputs


def compare_outputs(self, test, ref, skip_compare=None):
    return _compare_outputs(self, align_rounding(test, ref), ref, skip_compare)


IPyNbCell.compare_outputs = compare_outputs


def pytest_collectstart(collector):
    if collector.fspath and collector.fspath.ext == ".ipynb":
        collector.skip_compare += ("stderr",)
