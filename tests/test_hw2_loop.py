"""The pieces behind HW2's student-written device choice and training loop: ``cnnlib.batches``,
``cnnlib.probes``, ``cnnlib.machine``, and the reference recipe's precision and configurations.

The probes must see on a CPU what a GPU would punish: a batch used before it was moved to the
device. Each test plays a loop right and wrong and checks the counts exactly.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from torch import nn

from cnnlib import loop, machine, train
from cnnlib.batches import Batches
from cnnlib.data import synthetic_cifar
from cnnlib.probes import LossProbe, OnHost, StepProbe, unmoved, with_devices

CPU = torch.device("cpu")


def pair(n=10, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, 3, 4, 4), dtype=torch.uint8, generator=g), torch.arange(n) % 2


def test_batches_of_an_image_set_are_channels_first_uint8_on_the_cpu():
    data = synthetic_cifar(50, seed=0)
    batches = Batches(data, 16)
    got = list(batches)
    assert len(batches) == len(got) == 4  # in order, the last partial batch kept
    assert [len(yb) for _, yb in got] == [16, 16, 16, 2]
    xb, yb = got[0]
    assert xb.shape == (16, 3, 32, 32) and xb.dtype == torch.uint8 and yb.dtype == torch.int64
    assert xb.device.type == "cpu" and type(xb) is torch.Tensor
    np.testing.assert_array_equal(xb[3].permute(1, 2, 0).numpy(), data.x[3])
    np.testing.assert_array_equal(torch.cat([yb for _, yb in got]).numpy(), data.y)


def test_shuffled_batches_drop_the_last_partial_batch_and_change_order_every_pass():
    x, y = pair(10)
    batches = Batches((x, y), 4, shuffle=True, seed=3)
    first, second = list(batches), list(batches)
    assert len(batches) == 2 and [len(yb) for _, yb in first] == [4, 4]
    seen = torch.cat([xb for xb, _ in first])
    assert len({tuple(img.flatten().tolist()) for img in seen}) == 8  # no image twice in one pass
    assert not all(torch.equal(a[0], b[0]) for a, b in zip(first, second, strict=True))
    again = list(Batches((x, y), 4, shuffle=True, seed=3))
    assert all(torch.equal(a[0], b[0]) for a, b in zip(first, again, strict=True))  # seeded


@pytest.mark.parametrize("args, words", [
    ((np.zeros((3, 32, 32, 3)), 4), "ImageSet or a pair"),
    (((torch.zeros(3, 4, 4), torch.zeros(3)), 2), "images (N, C, H, W) and labels (N,)"),
    ((pair(4), 0), "batch_size must be an int >= 1"),
])
def test_bad_batches_say_what_was_expected(args, words):
    with pytest.raises(ValueError, match=words.replace("(", r"\(").replace(")", r"\)")):
        Batches(*args)
    with pytest.raises(ValueError, match="larger than the 4 images"):
        Batches(pair(4), 8, shuffle=True)


def test_a_probed_batch_stays_on_the_host_until_it_is_moved_to_a_device():
    xb, yb = next(iter(Batches(pair(4), 4, probe=True)))
    assert unmoved(xb) and unmoved(yb) and isinstance(xb, OnHost)
    # computed from a host batch: still on the host
    assert unmoved(xb.float() / 255) and unmoved(xb.to(torch.float32)) and unmoved(xb.flip(-1))
    # every way of moving it
    for moved in (xb.to(CPU), xb.to(CPU, non_blocking=True), xb.to(device=CPU), xb.to("cpu"),
                  xb.to(CPU, torch.float32), xb.to(torch.zeros(1)), (xb.float() / 255).to(CPU)):
        assert not unmoved(moved) and type(moved) is torch.Tensor
    torch.testing.assert_close(xb.to(CPU).float(), xb.as_subclass(torch.Tensor).float())


def run_loop(model, loss_fn, batches, move_images=True, move_labels=True, steps_in_eval=False):
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for xb, yb in batches:
        xb = xb.to(CPU) if move_images else xb
        yb = yb.to(CPU, non_blocking=True) if move_labels else yb
        model.train(not steps_in_eval)
        opt.zero_grad()
        loss_fn(model(xb.float() / 255), yb).backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        for xb, _ in batches:
            model(xb.to(CPU).float())


@pytest.mark.parametrize("images, labels, eval_steps", [(True, True, False), (False, True, False),
                                                        (True, False, False), (True, True, True)])
def test_the_probes_count_unmoved_batches_and_the_mode_of_every_pass(images, labels, eval_steps):
    model = nn.Sequential(StepProbe(), nn.Flatten(), nn.Linear(48, 2))
    loss_fn = LossProbe()
    batches = Batches(pair(12), 4, shuffle=True, seed=0, probe=True)
    run_loop(model, loss_fn, batches, images, labels, eval_steps)
    assert model[0].report() == {"training passes": 3, "in training mode": 0 if eval_steps else 3,
                                 "evaluation passes": 3, "in eval mode": 3, "unmoved inputs": 0 if images else 3}
    assert loss_fn.calls.tolist() == [3, 0 if labels else 3]
    assert "0.calls" in model.state_dict() and "calls" in loss_fn.state_dict()  # they travel with the weights


def test_the_loss_probe_is_cross_entropy():
    scores, target = torch.randn(5, 3), torch.tensor([0, 2, 1, 1, 0])
    torch.testing.assert_close(LossProbe(label_smoothing=0.1)(scores, target.as_subclass(OnHost)),
                               nn.CrossEntropyLoss(label_smoothing=0.1)(scores, target))


def test_with_devices_pretends_and_then_restores():
    real = (torch.cuda.is_available(), torch.backends.mps.is_available())
    seen = with_devices(lambda: (torch.cuda.is_available(), torch.cuda.device_count(),
                                 torch.backends.mps.is_available(), torch.backends.mps.is_built()), cuda=True, mps=False)
    assert seen == (True, 1, False, False)
    assert with_devices(lambda: torch.backends.mps.is_available(), cuda=False, mps=True) is True
    assert (torch.cuda.is_available(), torch.backends.mps.is_available()) == real


def test_the_machine_is_described_with_its_vector_extensions(monkeypatch):
    line = machine.describe_cpu(threads=2)
    assert machine.cpu_model() in line and "2 threads of" in line
    monkeypatch.setattr(machine, "cpu_flags", lambda: {"avx2", "fma", "avx512f", "avx512_bf16"})
    assert machine.vector_extensions() == ["AVX2", "FMA", "AVX-512F", "AVX-512 BF16"]
    assert machine.cpu_bf16_native()
    monkeypatch.setattr(machine, "cpu_flags", lambda: {"avx2", "fma"})
    assert not machine.cpu_bf16_native() and "(AVX2, FMA)" in machine.describe_cpu(threads=1)


def test_bfloat16_autocast_where_the_hardware_has_it(monkeypatch):
    cfg = train.RECIPES["reference"]
    assert loop.amp_enabled(cfg, torch.device("cuda"))
    assert not loop.amp_enabled(dataclasses.replace(cfg, amp=False), torch.device("cuda"))
    assert not loop.amp_enabled(cfg, torch.device("mps"))
    for flags, want in (({"avx512_bf16"}, True), ({"amx_bf16"}, True), ({"avx2", "avx512f"}, False)):
        monkeypatch.setattr(machine, "cpu_flags", lambda flags=flags: flags)
        assert loop.amp_enabled(cfg, CPU) is want


def test_reference_configurations_by_device_and_budget():
    assert train.reference_config(CPU) == train.RECIPES["reference"]
    wide = train.reference_config(CPU, budgeted=False)
    assert wide.model_kwargs == {"widths": (64, 256, 256)} and wide.epochs == 10.0 and wide.time_budget_s is None
    gpu = train.reference_config(torch.device("cuda"))
    assert gpu.model_kwargs == {"widths": (64, 256, 256)} and gpu.epochs == 9.9


def colab_cell() -> str:
    import nbformat
    from conftest import SOURCE

    nb = nbformat.read(SOURCE / "hw2" / "hw2_cifar10.ipynb", as_version=4)
    (cell,) = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "hw2_colab"]
    return cell.source


def test_the_colab_cell_installs_the_uploaded_wheel_on_colab_only(tmp_path, monkeypatch):
    import importlib.util
    import subprocess
    import sys
    import types

    from cnnlib.i18n import tr

    calls = []
    monkeypatch.setattr(subprocess, "run", lambda cmd, **kw: calls.append(cmd))
    monkeypatch.chdir(tmp_path)
    exec(colab_cell(), {"tr": tr})  # not on Colab: nothing happens
    assert calls == []
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "cnnlib" else real_find_spec(name, *a))
    with pytest.raises(FileNotFoundError, match="Upload the file from the course page"):
        exec(colab_cell(), {"tr": tr})
    (tmp_path / "cnnlib-0.1.0-py3-none-any.whl").write_bytes(b"")
    exec(colab_cell(), {"tr": tr})
    assert calls == [[sys.executable, "-m", "pip", "install", "--quiet", "cnnlib-0.1.0-py3-none-any.whl"]]
