"""`cookbook train --method mae` end to end: one short epoch on a subset of the embedded data writes a run folder with the
reconstructions figure, and `cookbook eval` of that folder writes it again (one training run serves both tests: CI time)."""
import json
import os
import subprocess
import sys

import pytest

ENV = {**os.environ, "MPLBACKEND": "Agg"}


@pytest.fixture(scope="module")
def mae_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("mae") / "mae-run"
    r = subprocess.run([sys.executable, "-m", "cookbook", "train", "--method", "mae", "--data", "embedded", "--subset", "512",
                        "--epochs", "1", "--probe-epochs", "5", "--out", str(out), "--no-progress"],
                       capture_output=True, text=True, env=ENV)
    return out, r


def test_train_mae_writes_reconstructions(mae_run):
    out, r = mae_run
    assert r.returncode == 0, r.stderr[-3000:]
    assert "vit_cpu encoder" in r.stdout and "reconstructions.png" in r.stdout, r.stdout
    for name in ["config.json", "metrics.jsonl", "checkpoint.pt", "summary.json", "history.png", "views.png", "reconstructions.png"]:
        assert (out / name).exists(), name
    assert (out / "reconstructions.png").stat().st_size > 5000
    config = json.loads((out / "config.json").read_text())
    assert config["method"] == "mae" and config["config"]["mask_ratio"] == 0.75
    summary = json.loads((out / "summary.json").read_text())
    assert summary["ssl"]["dim"] == 96 and summary["epochs"] == 1


def test_mae_eval_reloads_the_run(mae_run):
    out, r = mae_run
    assert r.returncode == 0, r.stderr[-3000:]
    (out / "reconstructions.png").unlink()
    r = subprocess.run([sys.executable, "-m", "cookbook", "eval", str(out), "--probe-epochs", "2", "--no-supervised"],
                       capture_output=True, text=True, env=ENV)
    assert r.returncode == 0, r.stderr[-3000:]
    assert (out / "reconstructions.png").exists()
