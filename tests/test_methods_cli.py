"""Every registered method trains, resumes and evaluates through the command line, the same way SimCLR does."""
import json
import os
import subprocess
import sys

import pytest

from cookbook.methods import METHODS, method_config


def run(*args):
    return subprocess.run([sys.executable, "-m", "cookbook", *args], capture_output=True, text=True,
                          env={**os.environ, "MPLBACKEND": "Agg"})


@pytest.mark.parametrize("method", sorted(METHODS))
def test_config_api_is_uniform(method):
    small, full = method_config(method, "small"), method_config(method, "full")
    for cfg in (small, full):
        assert hasattr(cfg, "views") and hasattr(cfg, "train") and callable(cfg.build) and callable(cfg.make_views)
    assert small.train.epochs < full.train.epochs, "the small config is the short one"
    model = small.build()
    assert hasattr(model, "encoder") and model.encoder.dim > 0


# simclr is covered in test_cli.py and mae (train + eval, its slowest evaluation) in test_mae_cli.py; moco_v3_vit runs
# mocov3's code with a ViT (a ViT epoch costs over a minute here; its config is checked above, its step in its chapter): CI time
@pytest.mark.parametrize("method", sorted(set(METHODS) - {"simclr", "mae", "moco_v3_vit"}))
def test_train_resume_eval(method, tmp_path):
    out = tmp_path / "run"
    r = run("train", "--method", method, "--data", "embedded", "--subset", "256", "--epochs", "1",
            "--batch-size", "64", "--probe-epochs", "2", "--no-progress", "--out", str(out))
    assert r.returncode == 0, r.stderr[-3000:]
    saved = json.loads((out / "config.json").read_text())
    assert saved["method"] == method
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary) >= {"random init", "ssl"} and summary["epochs"] == 1
    assert (out / "checkpoint.pt").exists() and (out / "history.png").exists()
    # continue the same run for one more epoch: the metrics file gains an epoch, nothing is lost
    r = run("train", "--resume", str(out), "--epochs", "2", "--no-progress", "--probe-epochs", "2")
    assert r.returncode == 0, r.stderr[-3000:]
    epochs = [json.loads(line)["epoch"] for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert epochs[-1] == 2 and sorted(set(epochs)) == epochs
    r = run("eval", str(out), "--probe-epochs", "2")
    assert r.returncode == 0 and "kNN" in r.stdout, r.stderr[-3000:]
