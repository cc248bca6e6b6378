"""The code paths a GPU run takes, exercised on the CPU so that the first GPU run does not meet a broken one: bf16
autocast, channels_last, `torch.compile` (inductor, with the system's C++ compiler) and the fused and foreach optimiser
steps. Each runs a few steps of a small config through `cookbook.train.train` (or one optimiser step) and compares the
losses (weights) with fp32 eager within a stated tolerance: loose where the arithmetic differs (bf16 keeps 8 bits of
mantissa), tight where only the order of operations does."""
import math
import shutil
from dataclasses import replace

import pytest
import torch

from cookbook.data import load_embedded
from cookbook.methods import method_config
from cookbook.train import TrainConfig, make_optimizer, train

DATA = load_embedded(n_train=256, n_test=64)


def losses(method: str, **train_fields) -> list:
    "Per-epoch mean losses of 2 epochs (4 steps each, batch 64) of `method`'s small config, fp32 eager unless `train_fields` say otherwise."
    cfg = method_config(method, "small")
    fields = dict(epochs=2, batch_size=64, knn_every=0, warmup_epochs=0, precision="fp32", channels_last=False, compile=False) | train_fields
    cfg = replace(cfg, train=replace(cfg.train, **fields))
    torch.manual_seed(0)
    history = train(cfg.build(), DATA, cfg.make_views(), cfg.train, progress=False)
    return [h["loss"] for h in history[1:]]


def close(a: list, b: list, rel: float) -> bool:
    return all(math.isfinite(x) and abs(x - y) <= rel * abs(y) for x, y in zip(a, b))


@pytest.fixture(scope="module")
def reference():
    return {m: losses(m) for m in ("simclr", "byol")}


@pytest.mark.parametrize("method", ["simclr", "byol"])
def test_bf16_autocast(method, reference):
    got = losses(method, precision="bf16")
    assert close(got, reference[method], 0.01), (got, reference[method])     # measured: within 2.5e-4 (SimCLR), 1.2e-3 (BYOL) of fp32


@pytest.mark.parametrize("method", ["simclr", "byol"])
def test_channels_last(method, reference):
    got = losses(method, channels_last=True)
    assert close(got, reference[method], 1e-3), (got, reference[method])   # measured: within 1.5e-4


def test_torch_compile(reference):
    if shutil.which("c++") is None and shutil.which("g++") is None:
        pytest.skip("torch.compile on CPU needs a C++ compiler: apt-get install g++")
    got = losses("simclr", compile=True)
    assert close(got, reference["simclr"], 1e-4), (got, reference["simclr"])   # measured: within 3.8e-6


@pytest.mark.parametrize("optimizer", ["adamw", "sgd"])
def test_fused_and_foreach_steps_match_the_loop(optimizer):
    "One step of the fused kernel (what `make_optimizer` picks on CUDA) and of the foreach one equals the plain loop's."
    cfg = TrainConfig(optimizer=optimizer, lr=0.05, weight_decay=0.1)
    results = {}
    for variant in ("loop", "foreach", "fused"):
        torch.manual_seed(0)
        # the paper's SimSiam heads: the small config's projector ends in a Linear whose bias gets only rounding noise as gradient
        # (the predictor's first BatchNorm removes any shift, the target is detached), which Adam scales up to steps that
        # differ between kernels (2.3e-4 after two steps); with the output BatchNorm every gradient is a real one
        model = replace(method_config("simsiam", "small"), proj_out_bn=True, pred_lr_scale=10.0, pred_fixed_lr=True).build()   # weights, norms, the predictor's own
        opt = make_optimizer(model, cfg, fused=variant == "fused")
        if variant != "fused":
            for g in opt.param_groups: g["foreach"] = variant == "foreach"
        assert bool(opt.defaults.get("fused")) == (variant == "fused")
        for _ in range(2):
            torch.manual_seed(1)
            loss = model([torch.rand(16, 3, 32, 32), torch.rand(16, 3, 32, 32)])
            opt.zero_grad(); loss.backward(); opt.step()
        results[variant] = torch.cat([p.detach().flatten() for p in model.parameters()])
    # measured after two steps at lr 0.05: foreach equal to the bit; fused SGD equal, fused AdamW within 1.1e-5
    # (its kernel rounds the update differently), a fiftieth of one Adam step of this size
    for variant in ("foreach", "fused"):
        assert torch.allclose(results[variant], results["loop"], rtol=0, atol=1e-4), variant
