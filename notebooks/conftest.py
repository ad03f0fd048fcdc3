"""nbval settings for the notebooks.

stderr is not compared: TensorFlow writes C++ log lines there (CPU feature notices, the absent
CUDA driver) that carry timestamps and process ids, so they differ on every run. Everything a
reader is meant to check (printed numbers, shapes, tables) goes to stdout and is compared.
"""


def pytest_collectstart(collector):
    if collector.fspath and collector.fspath.ext == ".ipynb":
        collector.skip_compare += ("stderr",)
