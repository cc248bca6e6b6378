"""Data-parallel training equals one process: 2 gloo processes on the CPU with B/2 images each take the same
optimisation step as 1 process with B images (same logged loss, same weights and buffers after the step).

Tolerance: 1e-5 on every floating-point parameter and buffer after one SGD step (lr 0.1, momentum 0.9), relative to
the largest magnitude in the state when that exceeds 1 (Barlow Twins' loss is ~670 at initialisation, and one step at
lr 0.1 moves some of its weights to ~23, so float32 rounding of those weights alone is ~2e-6),
and 1e-5 relative on the loss (Barlow Twins' loss is in the hundreds). The two computations add the same float32 numbers in a different order (gathered similarity
or correlation matrices, all-reduced gradients, global BatchNorm sums), so they agree to rounding, not bit for bit.
BatchNorm is global (SyncBatchNorm on GPUs, `GlobalBatchNorm` on CPU): with per-rank BatchNorm the step differs
(checked below), since each rank would normalise with its own B/2 images.
The queues of MoCo, NNCLR and MeanShift are part of the state: each process enqueues the keys of every process, so
after the step both hold the queue one process with the whole batch holds. MoCo runs with `bn_groups=1` here: its
shuffled BatchNorm sub-batches are drawn within each process (chapter *MoCo v2*), so with several groups one process
and two are different (equally valid) computations.
W-MSE whitens sub-batches of 8 of the gathered batch of 16 (`w_size` must exceed `proj_dim`, so `proj_dim=4` here); SwAV's
Sinkhorn runs over the gathered batch, so both equal one process exactly as the whole-batch losses do; so does DINO's
centre, the mean of the teacher's outputs over every process's images.
Each world of processes is killed after a timeout, so a hang in a collective fails the test instead of stalling CI.
"""
import pytest
import torch

from cookbook.ddp import compare_states, one_step, one_steps, run_world, train_on_rank
from cookbook.methods import available_methods

OVERRIDES = {"simclr": (), "byol": (), "barlow_twins": (), "vicreg": (), "moco_v2": (("bn_groups", 1),), "nnclr": (), "meanshift": (),
             "moco_v3": (), "wmse": (("w_size", 8), ("proj_dim", 4)), "swav": (), "dino": ()}
METHODS = list(OVERRIDES)
BATCH, WIDTH, TOL = 16, 4, 1e-5


def available(method):
    return method in available_methods()


@pytest.fixture(scope="module")
def two_rank_steps():
    "One world of 2 processes takes one step of every available method, with global and with per-rank BatchNorm."
    methods = [m for m in METHODS if available(m)]
    specs = [(m, BATCH, 0, 0.1, WIDTH, True, OVERRIDES[m]) for m in methods] + [("simclr", BATCH, 0, 0.1, WIDTH, False, ())]
    ranks = run_world(one_steps, 2, (specs,), timeout=600)
    return {spec: (ranks[0][i], ranks[1][i]) for i, spec in enumerate(specs)}


@pytest.mark.parametrize("method", METHODS)
def test_two_ranks_equal_one_process(method, two_rank_steps):
    if not available(method): pytest.skip(f"{method} is not registered or its module is missing")
    r0, r1 = two_rank_steps[(method, BATCH, 0, 0.1, WIDTH, True, OVERRIDES[method])]
    one = one_step(method, BATCH, 0, 0.1, WIDTH, overrides=OVERRIDES[method])
    assert compare_states(r0["state"], r1["state"]) == 0.0           # DDP keeps the replicas identical
    assert abs(r0["loss"] - one["loss"]) < TOL * max(1.0, abs(one["loss"])), (r0["loss"], one["loss"])  # relative
    diff = compare_states(r0["state"], one["state"])
    scale = max(1.0, max(v.abs().max().item() for v in one["state"].values() if v.is_floating_point()))
    assert diff < TOL * scale, f"{method}: largest difference of a weight or buffer after one step: {diff:.2e}"
    # the step did something: the weights moved by far more than the tolerance
    start = one_step(method, BATCH, 0, 0.0, WIDTH, overrides=OVERRIDES[method])["state"]
    assert compare_states(start, one["state"]) > 100 * TOL


def test_per_rank_batchnorm_differs(two_rank_steps):
    r0, _ = two_rank_steps[("simclr", BATCH, 0, 0.1, WIDTH, False, ())]
    assert compare_states(r0["state"], one_step("simclr", BATCH, 0, 0.1, WIDTH)["state"]) > 100 * TOL


def test_train_loop_shards_and_writes_once(tmp_path):
    "The real training loop on 2 ranks: disjoint shards covering the epoch's global batches; only rank 0 writes."
    ranks = run_world(train_on_rank, 2, (str(tmp_path), 200, 32, 1), timeout=600)
    seen = [sum(r["seen"], []) for r in ranks]
    assert [len(s) for s in seen] == [96, 96]            # 200 // 32 = 6 steps of 16 images per rank
    assert not set(seen[0]) & set(seen[1])
    assert len(set(seen[0]) | set(seen[1])) == 192
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rank0"]
    assert sorted(p.name for p in (tmp_path / "rank0").iterdir()) == [".lock", "checkpoint.pt", "metrics.jsonl"]   # .lock: rank 0 owns it
    same = lambda h: [{k: v for k, v in rec.items() if k in ("epoch", "loss", "knn")} for rec in h]  # not the timings
    assert same(ranks[0]["history"]) == same(ranks[1]["history"])
