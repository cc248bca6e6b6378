"""Probes of a demanding user (issue 12): bad input, faults and races. Each gives one clear line and exit code 2 (130 for
Ctrl-C), never a traceback, never a silently wrong result, and never loses or overwrites a file."""
import errno
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from cookbook.cli import main
from cookbook.data import load_dataset
from cookbook.runs import load_checkpoint, nonfinite_tensors

TINY = ["--data", "embedded", "--subset", "256", "--batch-size", "64", "--probe-epochs", "2", "--no-supervised", "--no-progress"]


def cli(capsys, *argv):
    "Run the CLI in this process: (exit code, stdout, stderr)."
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def refused(capsys, message, *argv):
    rc, out, err = cli(capsys, *argv)
    assert rc == 2, (argv, rc, err)
    assert message in err, (argv, err)
    assert "Traceback" not in err and err.count("\n") == 1, err   # one line
    return err


def _sigint_default():
    # a shell that starts a job in the background (CI may) makes it ignore SIGINT, and Python keeps an ignored SIGINT
    # ignored; a terminal's Ctrl-C reaches a foreground process with the default disposition, which this restores
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def spawn(*argv):
    return subprocess.Popen([sys.executable, "-m", "cookbook", *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1"},
                            preexec_fn=_sigint_default)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    "A 1-epoch run folder, trained once for the probes that read or resume it."
    out = tmp_path_factory.mktemp("runs") / "done"
    assert main(["train", *TINY, "--epochs", "1", "--out", str(out)]) == 0
    return out


# 1. Divergence never poisons the kept checkpoint, and the message says which epoch is kept (or that none is).
def test_divergence_keeps_the_newest_finite_checkpoint(capsys, tmp_path):
    out = tmp_path / "div"
    err = refused(capsys, "the run diverged", "train", *TINY, "--subset", "512", "--epochs", "6", "--lr", "1e5",
                  "--set", 'train.optimizer="sgd"', "--set", "train.warmup_epochs=5.0", "--out", str(out))
    ckpt = load_checkpoint(out / "checkpoint.pt")
    assert f"keeps the checkpoint of epoch {ckpt['epoch']}" in err
    assert nonfinite_tensors(ckpt) == []                                     # every tensor of the kept checkpoint is finite
    rc, stdout, _ = cli(capsys, "eval", str(out), "--probe-epochs", "2", "--no-supervised")
    assert rc == 0


def test_divergence_in_the_first_epoch_claims_no_checkpoint(capsys, tmp_path):
    out = tmp_path / "div1"
    refused(capsys, "No checkpoint was written", "train", *TINY, "--epochs", "3", "--lr", "1e8",
            "--set", 'train.optimizer="sgd"', "--set", "train.warmup_epochs=0.0", "--out", str(out))
    assert not (out / "checkpoint.pt").exists()


def test_eval_warns_on_a_collapsed_encoder(capsys):
    from cookbook.cli import degenerate
    assert degenerate({"rankme": 1.0, "std": 1e-6, "dim": 128}) and "collapsed" in degenerate({"rankme": 1.0, "std": 1e-6, "dim": 128})
    assert degenerate({"rankme": 40.0, "std": 0.08, "dim": 128}) is None


# 2. Two runs into one folder: one trains, the other is refused; the folder holds one run's files.
def test_two_runs_into_the_same_folder(tmp_path):
    out = tmp_path / "shared"
    args = ["train", *TINY, "--epochs", "2", "--out", str(out)]
    a, b = spawn(*args), spawn(*args)
    (ra, ea), (rb, eb) = (a.wait(timeout=600), a.stderr.read()), (b.wait(timeout=600), b.stderr.read())
    assert sorted([ra, rb]) == [0, 2], (ea, eb)
    loser = ea if ra == 2 else eb
    assert "already holds a run" in loser or "in use by another cookbook run" in loser, loser
    assert "Traceback" not in loser
    epochs = [json.loads(l)["epoch"] for l in (out / "metrics.jsonl").read_text().splitlines()]
    assert epochs == [0, 1, 2], epochs
    saved = json.loads((out / "config.json").read_text())
    assert json.loads(json.dumps(load_checkpoint(out / "checkpoint.pt")["config"])) == saved["config"]   # one run's files


def test_resume_while_another_process_trains_is_refused(tmp_path):
    out = tmp_path / "busy"
    a = spawn("train", *TINY, "--epochs", "400", "--out", str(out))   # killed below: long enough to outlast the probes
    try:
        for _ in range(600):
            if (out / ".lock").exists() and (out / ".lock").read_text().startswith("pid"): break
            time.sleep(0.1)
        for argv in (["train", "--resume", str(out), "--no-progress"], ["eval", str(out)]):   # eval writes there too
            b = spawn(*argv)
            assert b.wait(timeout=120) == 2
            err = b.stderr.read()
            assert f"is in use by another cookbook run (pid {a.pid}" in err and "Traceback" not in err, (argv, err)
    finally:
        a.kill(); a.wait()


# 3. --out onto a folder that is not a run: refused, the user's files untouched. --out onto a file: refused.
def test_out_onto_users_folder_or_file(capsys, tmp_path):
    mine = tmp_path / "mine"; mine.mkdir()
    (mine / "config.json").write_text('{"my": "settings"}'); (mine / "metrics.jsonl").write_text("mine\n")
    refused(capsys, "not empty and is not a run folder", "train", *TINY, "--out", str(mine))
    assert (mine / "metrics.jsonl").read_text() == "mine\n" and (mine / "config.json").read_text() == '{"my": "settings"}'
    assert sorted(p.name for p in mine.iterdir()) == ["config.json", "metrics.jsonl"]
    (tmp_path / "afile").write_text("x")
    refused(capsys, "is a file, not a folder", "train", *TINY, "--out", str(tmp_path / "afile"))
    assert (tmp_path / "afile").read_text() == "x"


# 4. A symlink loop in an ImageFolder adds nothing, and no file is in both splits.
def test_imagefolder_symlink_loop(tmp_path):
    from PIL import Image
    rng = np.random.default_rng(0)
    for c in ["a", "b"]:
        (tmp_path / "imgs" / c).mkdir(parents=True)
        for i in range(10): Image.fromarray(rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)).save(tmp_path / "imgs" / c / f"{i}.png")
    before = load_dataset(str(tmp_path / "imgs"), image_size=16)
    os.symlink("..", tmp_path / "imgs" / "a" / "loop")
    after = load_dataset(str(tmp_path / "imgs"), image_size=16)
    assert (len(after.train), len(after.test)) == (len(before.train), len(before.test)) == (18, 2)
    assert torch.equal(after.train.images, before.train.images)


# 5. Options are validated, never silently misread; on --resume they are honoured or refused, never ignored.
@pytest.mark.parametrize("argv,message", [
    (["--subset", "-5"], "--subset must be an integer >= 1"),
    (["--subset", "0"], "--subset must be an integer >= 1"),
    (["--probe-epochs", "0"], "--probe-epochs must be an integer >= 1"),
    (["--probe-epochs", "-2"], "--probe-epochs must be an integer >= 1"),
    (["--image-size", "0"], "--image-size must be an integer >= 8"),
    (["--image-size", "-5"], "--image-size must be an integer >= 8"),
    (["--set", "train.weight_decay=-0.1"], "train.weight_decay must be zero or positive"),
    (["--set", "train.warmup_epochs=-1.0"], "train.warmup_epochs must be zero or positive"),
    (["--set", "train.knn_temperature=0.0"], "train.knn_temperature must be at least 0.01"),
    (["--lr", "nan"], "train.lr must be a positive number"),
    (["--set", "width=0"], "width must be a positive number"),
    (["--set", "proj_dim=0"], "proj_dim must be a positive number"),
    (["--set", "views.crop_scale=(0.9, 0.2)"], "views.crop_scale must be two numbers (low, high) with 0 < low <= high <= 1"),
    (["--set", "views.gray_p=1.5"], "views.gray_p holds probabilities in [0, 1]"),
    (["--device", "tpu"], "unknown device 'tpu'"),
    (["--threads", "0"], "--threads must be auto or a positive integer, got '0'"),
    (["--threads", "two"], "--threads must be auto or a positive integer, got 'two'"),
    (["--batch-size", "4096"], "larger than the dataset"),
    # refused only when the model is built, still before the run folder exists
    (["--method", "dino", "--set", "n_prototypes=1"], "n_prototypes must be at least 2"),
    (["--method", "dino_vit", "--set", "encoder=small_cnn"], "dino_vit needs a ViT encoder"),
])
def test_bad_options(capsys, tmp_path, argv, message):
    out = tmp_path / "never"
    refused(capsys, message, "train", "--data", "embedded", "--subset", "256", "--no-progress", *argv, "--out", str(out))
    assert not out.exists()                                             # a refused run leaves no folder behind


@pytest.mark.parametrize("argv,message", [
    (["--lr", "0.5"], "--lr 0.5 differs from the run's"),
    (["--batch-size", "32"], "--batch-size 32 differs from the run's 64"),
    (["--seed", "3"], "--seed 3 differs from the run's 0"),
    (["--precision", "bf16"], "--precision bf16 differs from the run's 'auto'"),
    (["--data", "cifar10"], "--data cifar10 differs from the run's 'embedded'"),
    (["--subset", "100"], "--subset 100 differs from the run's 256"),
    (["--method", "byol"], "--method byol differs from the run's 'simclr'"),
    (["--size", "full"], "--size cannot change a run being resumed"),
    (["--epochs", "0"], "cannot undo them"),
    (["--out", "elsewhere"], "--out cannot be combined with --resume"),
])
def test_resume_refuses_options_it_would_ignore(capsys, finished_run, argv, message):
    before = (finished_run / "config.json").read_text()
    refused(capsys, message, "train", "--resume", str(finished_run), "--no-progress", *argv)
    assert (finished_run / "config.json").read_text() == before


def test_resume_honours_threads(capsys, tmp_path):
    "--threads says how to run, not what to train: a resume may change it, and config.json records the count it ran with."
    out = tmp_path / "threads"
    assert cli(capsys, "train", *TINY, "--epochs", "1", "--threads", "2", "--out", str(out))[0] == 0
    assert json.loads((out / "config.json").read_text())["config"]["train"]["threads"] == 2
    assert cli(capsys, "train", "--resume", str(out), "--epochs", "2", "--threads", "1", "--probe-epochs", "2", "--no-supervised", "--no-progress")[0] == 0
    assert json.loads((out / "config.json").read_text())["config"]["train"]["threads"] == 1
    records = [json.loads(l) for l in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r.get("threads") for r in records] == [None, 2, 1]   # epoch 0 is the random-init kNN


def test_resume_extends_the_schedule_and_records_it(capsys, tmp_path):
    out = tmp_path / "ext"
    assert cli(capsys, "train", *TINY, "--epochs", "2", "--out", str(out))[0] == 0
    assert cli(capsys, "train", "--resume", str(out), "--epochs", "3", "--batch-size", "64", "--probe-epochs", "2", "--no-supervised", "--no-progress")[0] == 0   # agreeing option: fine
    saved = json.loads((out / "config.json").read_text())["config"]["train"]
    assert (saved["epochs"], saved["restarts"]) == (3, [2])
    lrs = [json.loads(l).get("lr") for l in (out / "metrics.jsonl").read_text().splitlines()]
    peak = saved["lr"]
    assert lrs[2] < 0.2 * peak and lrs[3] == pytest.approx(peak)   # epoch 2 ended the planned cosine; epoch 3 warmed up again


# 6. Tracebacks that used to reach the user.
@pytest.mark.parametrize("text,message", [
    ("", "is not valid JSON"), ("{ broken", "is not valid JSON"), ("[]", "should hold a JSON object"),
    ('{"method": "simclr", "data": {"data": "embedded"}}', "lacks a valid 'config' entry"),
    ('{"method": "simclr", "data": {"data": "embedded"}, "config": {"no_such_field": 1}}', "unknown SimCLRConfig field"),
    ('{"method": "simclr", "data": {}, "config": {}}', "lacks the dataset name"),
    ('{"method": "simclr", "data": {"data": "embedded"}, "config": {"train": {"epochs": "ten"}}}', "epochs must be a positive integer"),
])
def test_broken_config_json(capsys, tmp_path, finished_run, text, message):
    run = tmp_path / "copy"; run.mkdir()
    (run / "checkpoint.pt").write_bytes((finished_run / "checkpoint.pt").read_bytes())
    (run / "config.json").write_text(text)
    refused(capsys, message, "train", "--resume", str(run), "--no-progress")
    if "epochs" not in text: refused(capsys, message, "eval", str(run))


@pytest.mark.parametrize("code,message", [(errno.ENOSPC, "no space left on the disk"), (errno.EROFS, "is read-only")])
def test_disk_full_and_read_only(capsys, tmp_path, monkeypatch, code, message):
    def fail(fd): raise OSError(code, os.strerror(code))
    monkeypatch.setattr(os, "fsync", fail)                   # as root, chmod cannot make a folder read-only; the kernel's codes can
    out = tmp_path / "full"
    err = refused(capsys, message, "train", *TINY, "--epochs", "1", "--out", str(out))
    assert str(out) in err
    assert not list(out.glob("*.tmp"))                       # nothing half-written left


@pytest.mark.parametrize("labels,message", [
    (np.array(["cat", "dog"] * 8), "got strings"),
    (np.array([0, -1] * 8), "negative labels"),
    (np.array([0, 5] * 8), "label 5 has no class name"),
])
def test_bad_labels(capsys, tmp_path, labels, message):
    x = np.zeros((16, 8, 8, 3), np.uint8)
    np.savez(tmp_path / "d.npz", x_train=x, y_train=labels, x_test=x, y_test=np.zeros(16, np.int64),
             classes=np.array(["cat", "dog"]))
    refused(capsys, message, "train", "--data", str(tmp_path / "d.npz"), "--no-progress", "--out", str(tmp_path / "r"))


def test_corrupt_png_in_imagefolder(capsys, tmp_path):
    from PIL import Image
    for c in ["a", "b"]:
        (tmp_path / "imgs" / c).mkdir(parents=True)
        Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(tmp_path / "imgs" / c / "0.png")
    (tmp_path / "imgs" / "b" / "1.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 30)
    refused(capsys, "1.png is not a readable image", "train", "--data", str(tmp_path / "imgs"), "--out", str(tmp_path / "r"))


def test_ctrl_c_saves_nothing_half_written_and_says_how_to_resume(tmp_path):
    out = tmp_path / "int"
    p = spawn("train", *TINY, "--subset", "512", "--epochs", "400", "--out", str(out))
    for _ in range(1200):
        if (out / "metrics.jsonl").exists() and len((out / "metrics.jsonl").read_text().splitlines()) >= 2: break
        time.sleep(0.1)
    p.send_signal(signal.SIGINT)
    rc, err = p.wait(timeout=120), p.stderr.read()
    assert rc == 130 and "Traceback" not in err, err
    assert f"continue with: cookbook train --resume {out}" in err, err
    ckpt = load_checkpoint(out / "checkpoint.pt")                # verified by its checksum
    assert f"keeps the checkpoint of epoch {ckpt['epoch']}" in err
    assert not list(out.glob("*.tmp"))


def test_unexpected_errors_show_the_traceback_and_where_to_report(capsys, monkeypatch):
    import cookbook.cli as cli_module
    def boom(args): return 1 / 0
    monkeypatch.setattr(cli_module, "cmd_eval", boom)
    rc, _, err = cli(capsys, "eval", "anything")
    assert rc == 1 and "Traceback" in err and "ZeroDivisionError" in err and "This is a bug in cookbook" in err


# 7. The smaller ones.
def test_bit_flipped_checkpoint(capsys, tmp_path, finished_run):
    run = tmp_path / "flip"; run.mkdir()
    (run / "config.json").write_text((finished_run / "config.json").read_text())
    raw = bytearray((finished_run / "checkpoint.pt").read_bytes())
    state = torch.load(finished_run / "checkpoint.pt", weights_only=True)
    w = next(v for v in state["model"].values() if v.dim() == 2 and v.numel() > 1000).numpy().tobytes()   # a Linear weight
    at = bytes(raw).find(w[:64]); assert at > 0
    raw[at + 200] ^= 0x10
    (run / "checkpoint.pt").write_bytes(bytes(raw))
    refused(capsys, "fails its checksum", "eval", str(run))
    refused(capsys, "fails its checksum", "train", "--resume", str(run), "--no-progress")


def test_small_ones(capsys, tmp_path, finished_run):
    np.savez(tmp_path / "one.npz", x=np.zeros((1, 8, 8, 3), np.uint8), y=np.zeros(1, np.int64))
    refused(capsys, "holds 1 image(s); at least 2 are needed", "train", "--data", str(tmp_path / "one.npz"))
    run = tmp_path / "nockpt"; run.mkdir(); (run / "config.json").write_text((finished_run / "config.json").read_text())
    refused(capsys, "--test-data applies to the dataset given with --data", "eval", str(finished_run), "--test-data", "x.npz")
    err = refused(capsys, "no checkpoint at", "eval", str(run))
    assert "--resume" not in err
    refused(capsys, "--steps must be an integer >= 1", "bench", "--steps", "0")
    refused(capsys, "--threads must be an integer >= 1", "bench", "--threads", "0")
    refused(capsys, "--workers must be an integer >= 0", "bench", "--workers", "-1")
    refused(capsys, "--contention must be an integer >= 0", "bench", "--side-by-side", "--contention", "-1")
    refused(capsys, "--contention measures the side-by-side comparison under load: add --side-by-side", "bench", "--contention", "1")
    refused(capsys, "--suite runs every method and the side-by-side comparison itself", "bench", "--suite", "--method", "byol")
    rc, out, err = cli(capsys, "train", "--size", "full", "--batch-size", "99999", "--no-progress", "--out", str(tmp_path / "f"))
    assert rc == 2 and "larger than the dataset" in err and "on this CPU it would take days" in out
    assert not (tmp_path / "f").exists()
