"""The console script as a user runs it: exit codes, messages, run folders, real on-disk formats."""
import json
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest


def run(*args, cwd=None, env=None):
    return subprocess.run([sys.executable, "-m", "cookbook", *args], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, "MPLBACKEND": "Agg", **(env or {})})


def test_console_script_is_installed():
    r = subprocess.run(["cookbook", "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "train" in r.stdout and "eval" in r.stdout and "bench" in r.stdout


@pytest.mark.parametrize("args,message", [
    (["train", "--method", "nope"], "unknown method 'nope'; valid: ['barlow_twins', 'byol'"),
    (["train", "--data", "nope"], "unknown dataset 'nope': use one of"),
    (["train", "--size", "huge"], "size must be 'small' or 'full'"),
    (["train", "--epochs", "-3"], "epochs must be a positive integer"),
    (["train", "--batch-size", "0"], "batch size must be an integer >= 2"),
])
def test_bad_input_is_one_clear_line(args, message):
    r = run(*args)
    assert r.returncode == 2
    assert message in r.stderr and "Traceback" not in r.stderr, r.stderr


def test_torchvision_dataset_offline(tmp_path):
    r = run("train", "--data", "cifar100", "--root", str(tmp_path))
    assert r.returncode == 2 and "cifar100 not found under" in r.stderr and "--download" in r.stderr


def test_wrong_arrays_are_refused(tmp_path):
    np.savez(tmp_path / "f.npz", x=np.random.rand(10, 32, 32, 3).astype(np.float32), y=np.zeros(10, int))
    r = run("train", "--data", str(tmp_path / "f.npz"))
    assert r.returncode == 2 and "must be uint8" in r.stderr and "astype('uint8')" in r.stderr
    np.savez(tmp_path / "s.npz", x=np.zeros((10, 32, 32, 5), np.uint8), y=np.zeros(10, int))
    r = run("train", "--data", str(tmp_path / "s.npz"))
    assert r.returncode == 2 and "1 or 3 channels" in r.stderr


def _write_cifar10(root, n=64):
    """A small CIFAR-10 in torchvision's on-disk format (cifar-10-batches-py), with learnable structure."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for fn in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        y = rng.integers(0, 10, n)
        x = rng.integers(0, 255, (n, 3, 32, 32), dtype=np.uint8)
        with open(folder / fn, "wb") as f:
            pickle.dump({"data": x.reshape(n, -1), "labels": list(y)}, f)
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({"label_names": [f"class{i}" for i in range(10)]}, f)


def test_train_eval_resume_on_cifar_format(tmp_path):
    _write_cifar10(tmp_path / "data")
    out = tmp_path / "run"
    r = run("train", "--data", "cifar10", "--root", str(tmp_path / "data"), "--epochs", "1", "--batch-size", "32",
            "--out", str(out), "--probe-epochs", "3")
    assert r.returncode == 0, r.stderr
    assert "Summary: simclr on cifar10" in r.stdout and "random init" in r.stdout
    assert {"config.json", "metrics.jsonl", "checkpoint.pt", "summary.json", "history.png", "spectrum.png",
            "views.png"} <= {p.name for p in out.iterdir()}
    assert [json.loads(l)["epoch"] for l in (out / "metrics.jsonl").read_text().splitlines()] == [0, 1]
    r = run("eval", str(out), "--probe-epochs", "3")
    assert r.returncode == 0 and "Summary" in r.stdout, r.stderr
    r = run("train", "--resume", str(out), "--epochs", "2", "--probe-epochs", "3")
    assert r.returncode == 0, r.stderr
    assert [json.loads(l)["epoch"] for l in (out / "metrics.jsonl").read_text().splitlines()] == [0, 1, 2]
    # a truncated checkpoint is reported, and left as it is for the user to inspect
    data = (out / "checkpoint.pt").read_bytes()
    (out / "checkpoint.pt").write_bytes(data[: len(data) // 2])
    r = run("train", "--resume", str(out), "--epochs", "3")
    assert r.returncode == 2 and "corrupt or truncated" in r.stderr
    assert (out / "checkpoint.pt").stat().st_size == len(data) // 2


def test_npz_shards_like_shared_cifar(tmp_path):
    rng = np.random.default_rng(1)
    for i in range(2):
        np.savez(tmp_path / f"train_{i}.npz", x=rng.integers(0, 255, (40, 32, 32, 3), dtype=np.uint8),
                 y=rng.integers(0, 10, 40), classes=np.array([f"c{k}" for k in range(10)]))
    np.savez(tmp_path / "test.npz", x=rng.integers(0, 255, (20, 32, 32, 3), dtype=np.uint8), y=rng.integers(0, 10, 20))
    out = tmp_path / "run"
    r = run("train", "--data", str(tmp_path / "train_*.npz"), "--test-data", str(tmp_path / "test.npz"),
            "--epochs", "1", "--batch-size", "16", "--out", str(out), "--probe-epochs", "2", "--no-progress")
    assert r.returncode == 0, r.stderr
    assert "train=80, test=20" in r.stdout
    summary = json.loads((out / "summary.json").read_text())
    assert 0 <= summary["ssl"]["knn"] <= 100 and summary["epochs"] == 1


def test_run_folder_holds_diagnostics(tmp_path):
    """`cookbook train` writes the diagnostics table and figures (issue 5), and the monitor's numbers reach metrics.jsonl."""
    out = tmp_path / "run"
    r = run("train", "--data", "embedded", "--subset", "400", "--epochs", "2", "--batch-size", "64", "--out", str(out),
            "--probe-epochs", "2", "--no-progress")
    assert r.returncode == 0, r.stderr
    for name in ["diagnostics.json", "diagnostics.md", "layer_spectra.png", "invariance.png", "embedding.png",
                 "retrieval.png", "monitor.png"]:
        assert (out / name).stat().st_size > 0, name
        assert name in r.stdout, name                     # the printed file list names it
    diag = json.loads((out / "diagnostics.json").read_text())
    assert [row["layer"] for row in diag["layers"]][0] == "backbone"
    assert {"rankme", "alpha_req", "alpha_r2", "std", "alignment", "uniformity"} <= set(diag["layers"][0])
    assert {row["augmentation"] for row in diag["invariance"]} >= {"crop", "colour", "blur", "grayscale", "flip"}
    last = json.loads((out / "metrics.jsonl").read_text().splitlines()[-1])
    assert last["epoch"] == 2 and 1 <= last["rankme"] <= 128
