import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("MPLBACKEND", "Agg")
if os.environ.get("PYTEST_XDIST_WORKER"):
    # one worker per core (`-n 2`), one thread each: these small models gain little from a second thread (two VICReg
    # chapters side by side took 101 s each, one alone with two threads 101 s; the whole suite 48 min against 64 one at
    # a time), and two workers of two threads each would oversubscribe the cores. Set before torch is imported; subprocesses inherit it.
    os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = "1"
    import sys
    if "torch" in sys.modules: sys.modules["torch"].set_num_threads(1)   # imported already by a plugin: too late for the variable


def pytest_configure(config):
    config.addinivalue_line("markers", "book: the rendered book, built from the notebooks an earlier pytest call executed (run with -m book)")
