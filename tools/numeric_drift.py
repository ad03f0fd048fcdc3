"""How far do the notebooks' printed figures move under other numeric settings?

Executes every notebook (or the ones named) in a fresh kernel with the environment of this
process, then compares each code cell's text output with the output stored in the notebook,
number by number, and prints every figure that moved, by how much, and at what precision it
is printed. Run it once per setting, e.g.

    TF_ENABLE_ONEDNN_OPTS=0 python tools/numeric_drift.py --save drift_onednn_off.json
    TF_NUM_INTRAOP_THREADS=1 TF_NUM_INTEROP_THREADS=1 python tools/numeric_drift.py

Cells marked NBVAL_IGNORE_OUTPUT are skipped, as nbval skips them. Figures go to a scratch
folder ($GANKIT_FIGURES), so the tracked ones stay as they are.

Printed text hides movement below its last digit; ``--metrics OUT.json`` measures that for the
figures most exposed to it, the evaluation metrics of every committed model (2,000 samples,
one seed, as the notebooks' sweeps), at full precision; ``--compare A.json B.json`` prints how
far each moved between two settings:

    python tools/numeric_drift.py --metrics default.json
    TF_ENABLE_ONEDNN_OPTS=0 python tools/numeric_drift.py --metrics onednn_off.json
    python tools/numeric_drift.py --compare default.json onednn_off.json
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
# The notebooks' own rule for reading a printed number (notebooks/conftest.py), so that "units
# of the last digit" here mean what the tests' tolerance means.
_spec = importlib.util.spec_from_file_location("notebook_rules", ROOT / "notebooks" / "conftest.py")
_rules = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_rules)


def numbers(text: str):
    """(value, unit of the last printed digit, token) for every number in ``text``."""
    return [(float(token.replace(",", "")), _rules.last_digit_unit(token), token) for token in _rules.NUMBER.findall(text)]


def compare(stored: str, fresh: str):
    """Per moved number: (stored token, fresh token, |difference| in units of the last digit)."""
    a, b = numbers(stored), numbers(fresh)
    if len(a) != len(b):
        return None  # structure changed: report the texts
    return [(x[2], y[2], abs(x[0] - y[0]) / x[1]) for x, y in zip(a, b) if x[2] != y[2]]


def metric_values(count: int = 2000) -> dict:
    """Full-precision metrics of every committed model (and StyleGAN at psi 0.5)."""
    from dataclasses import asdict

    from gankit.checkpoints import load_generator
    from gankit.evaluation import Evaluator

    evaluator = Evaluator()
    values = {}
    for name, psi in [("dcgan", None), ("wgan", None), ("lsgan", None), ("infogan", None), ("stylegan", None),
                      ("stylegan", 0.5)]:
        generator = load_generator(name, truncation_psi=psi)
        label = name if psi is None else f"{name} psi={psi}"
        values[label] = asdict(evaluator.score(generator.sample(count, seed=1000)))
    return values


def compare_metrics(first: dict, second: dict) -> None:
    for model, scores in first.items():
        moved = {key: abs(value - second[model][key]) for key, value in scores.items()}
        print(f"{model:16s} " + "  ".join(f"{key} {change:.2g}" for key, change in moved.items() if key != "count"))


def main(argv=None) -> int:
    os.environ.setdefault("GANKIT_FIGURES", tempfile.mkdtemp(prefix="gankit-figures-"))  # leave img/ alone
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", help="default: notebooks/*.ipynb")
    parser.add_argument("--save", help="write the moved figures to this JSON file")
    parser.add_argument("--metrics", help="instead: write the committed models' metrics to this JSON file")
    parser.add_argument("--compare", nargs=2, help="instead: how far the metrics of two --metrics files differ")
    args = parser.parse_args(argv)
    if args.metrics:
        Path(args.metrics).write_text(json.dumps(metric_values(), indent=1))
        return 0
    if args.compare:
        compare_metrics(*(json.loads(Path(path).read_text()) for path in args.compare))
        return 0
    paths = [Path(p) for p in args.notebooks] or sorted((ROOT / "notebooks").glob("*.ipynb"))
    report = []
    for path in paths:
        stored = nbformat.read(path, as_version=4)
        fresh = nbformat.read(path, as_version=4)
        started = time.perf_counter()
        NotebookClient(fresh, timeout=1800, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
        print(f"{path.name}: executed in {time.perf_counter() - started:.0f} s", flush=True)
        for index, (old, new) in enumerate(zip(stored.cells, fresh.cells)):
            if old.cell_type != "code" or "NBVAL_IGNORE_OUTPUT" in old.source:
                continue
            before, after = cell_text(old), cell_text(new)
            if before == after:
                continue
            moved = compare(before, after)
            entry = {"notebook": path.name, "cell": index, "moved": moved}
            if moved is None:
                entry["stored"], entry["fresh"] = before, after
                print(f"  cell {index}: text differs in structure\n--- stored\n{before}--- fresh\n{after}")
            else:
                for old_token, new_token, units in moved:
                    print(f"  cell {index}: {old_token} -> {new_token} ({units:.3g} units of the last digit)")
            report.append(entry)
    if args.save:
        Path(args.save).write_text(json.dumps(report, indent=1))
    print(f"{sum(len(e['moved'] or [None]) for e in report)} figure(s) moved in {len(report)} cell(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
