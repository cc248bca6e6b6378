"""`cookbook train --method mae` end to end: one short epoch on a subset of the embedded data writes a run folder with the reconstructions figure."""
import json
import os
import subprocess
import sys


def test_train_mae_writes_reconstructions(tmp_path):
    out = tmp_path / "mae-run"
    r = subprocess.run([sys.executable, "-m", "cookbook", "train", "--method", "mae", "--data", "embedded", "--subset", "512",
                        "--epochs", "1", "--probe-epochs", "5", "--out", str(out), "--no-progress"],
                       capture_output=True, text=True, env={**os.environ, "MPLBACKEND": "Agg"})
    assert r.returncode == 0, r.stderr[-3000:]
    assert "vit_cpu encoder" in r.stdout and "reconstructions.png" in r.stdout, r.stdout
    for name in ["config.json", "metrics.jsonl", "checkpoint.pt", "summary.json", "history.png", "views.png", "reconstructions.png"]:
        assert (out / name).exists(), name
    assert (out / "reconstructions.png").stat().st_size > 5000
    config = json.loads((out / "config.json").read_text())
    assert config["method"] == "mae" and config["config"]["mask_ratio"] == 0.75
    summary = json.loads((out / "summary.json").read_text())
    assert summary["ssl"]["dim"] == 96 and summary["epochs"] == 1


def test_mae_eval_reloads_the_run(tmp_path):
    out = tmp_path / "mae-run"
    train = [sys.executable, "-m", "cookbook", "train", "--method", "mae", "--subset", "256", "--epochs", "1",
             "--probe-epochs", "2", "--out", str(out), "--no-progress"]
    env = {**os.environ, "MPLBACKEND": "Agg"}
    assert subprocess.run(train, capture_output=True, text=True, env=env).returncode == 0
    (out / "reconstructions.png").unlink()
    r = subprocess.run([sys.executable, "-m", "cookbook", "eval", str(out), "--probe-epochs", "2"], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    assert (out / "reconstructions.png").exists()
