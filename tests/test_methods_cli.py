"""Every registered method trains, resumes and evaluates through the command line, the same way SimCLR does."""
import json

import pytest

from cookbook.cli import main
from cookbook.methods import METHODS, method_config


def cli(capsys, *argv):
    "Run the CLI in this process: (exit code, stdout, stderr)."
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.mark.parametrize("method", sorted(METHODS))
def test_config_api_is_uniform(method):
    small, full = method_config(method, "small"), method_config(method, "full")
    for cfg in (small, full):
        assert hasattr(cfg, "views") and hasattr(cfg, "train") and callable(cfg.build) and callable(cfg.make_views)
    assert small.train.epochs < full.train.epochs, "the small config is the short one"
    model = small.build()
    assert hasattr(model, "encoder") and model.encoder.dim > 0


# simclr is covered in test_cli.py and mae (train + eval, its slowest evaluation) in test_mae_cli.py; moco_v3_vit and dino_vit run
# their convnet method's code with a ViT (a ViT epoch costs over a minute here; its config is checked above, its step in its chapter): CI time.
# In this process (no interpreter start per call), and the diagnostics, which are the same code for every method, once per run
@pytest.mark.parametrize("method", sorted(set(METHODS) - {"simclr", "mae", "moco_v3_vit", "dino_vit"}))
def test_train_resume_eval(method, tmp_path, capsys):
    out = tmp_path / "run"
    rc, _, err = cli(capsys, "train", "--method", method, "--data", "embedded", "--subset", "256", "--epochs", "1",
                     "--batch-size", "64", "--probe-epochs", "2", "--no-progress", "--no-diagnostics", "--out", str(out))
    assert rc == 0, err[-3000:]
    saved = json.loads((out / "config.json").read_text())
    assert saved["method"] == method
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary) >= {"random init", "ssl"} and summary["epochs"] == 1
    assert (out / "checkpoint.pt").exists() and (out / "history.png").exists()
    assert not (out / "embedding.png").exists() and "map" not in summary   # --no-diagnostics skipped them
    # continue the same run for one more epoch: the metrics file gains an epoch, nothing is lost
    rc, _, err = cli(capsys, "train", "--resume", str(out), "--epochs", "2", "--no-progress", "--probe-epochs", "2", "--no-diagnostics")
    assert rc == 0, err[-3000:]
    epochs = [json.loads(line)["epoch"] for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert epochs[-1] == 2 and sorted(set(epochs)) == epochs
    rc, stdout, err = cli(capsys, "eval", str(out), "--probe-epochs", "2")
    assert rc == 0 and "kNN" in stdout, err[-3000:]
    assert (out / "embedding.png").exists() and "map" in json.loads((out / "summary.json").read_text())
    # evaluated again without diagnostics: the earlier figures stay, and the output says they are not this evaluation's
    rc, stdout, err = cli(capsys, "eval", str(out), "--probe-epochs", "2", "--no-diagnostics")
    assert rc == 0 and "from an earlier evaluation" in stdout and (out / "embedding.png").exists(), stdout[-2000:]
