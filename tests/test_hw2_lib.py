"""HW2's library: CIFAR-10 loading, tensor augmentation, the loader, the models, training,
evaluation, checkpoints and the two command lines. Synthetic or tiny data, CPU, seconds."""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import ROOT
from torch import nn

from cnnlib import data, models, train


@pytest.fixture(scope="module")
def shapes():
    return data.synthetic_cifar(n=1200, seed=3)


def write_npz(path, ds):
    np.savez(path, x=ds.x, y=ds.y)
    return path


# ---------------------------------------------------------------- data sources

def test_synthetic_cifar_is_balanced_deterministic_and_says_so():
    a, b = data.synthetic_cifar(n=200, seed=5), data.synthetic_cifar(n=200, seed=5)
    assert a.x.shape == (200, 32, 32, 3) and a.x.dtype == np.uint8
    np.testing.assert_array_equal(a.x, b.x)
    assert np.bincount(a.y, minlength=10).tolist() == [20] * 10
    assert a.synthetic and "synthetic" in a.source and len(a.classes) == 10
    assert not np.array_equal(a.x, data.synthetic_cifar(n=200, seed=6).x)


def test_load_cifar10_from_a_npz_path_and_from_the_environment(tmp_path, shapes, monkeypatch, capsys):
    f = write_npz(tmp_path / "cifar10_test.npz", shapes)
    ds = data.load_cifar10(f, train=False)
    np.testing.assert_array_equal(ds.x, shapes.x)
    assert ds.y.dtype == np.int64 and ds.classes == data.CIFAR10_CLASSES and not ds.synthetic
    assert str(f) in capsys.readouterr().out  # it says where the data came from
    monkeypatch.setenv(data.DATA_ENV, str(tmp_path))
    np.testing.assert_array_equal(data.load_cifar10(train=False, verbose=False).y, shapes.y)
    # a folder given as the path works too
    monkeypatch.delenv(data.DATA_ENV)
    assert len(data.load_cifar10(tmp_path, train=False, verbose=False)) == len(shapes)


def test_no_source_gives_one_error_listing_every_way(tmp_path, monkeypatch):
    monkeypatch.delenv(data.DATA_ENV, raising=False)
    with pytest.raises(FileNotFoundError) as err:
        data.load_cifar10(root=tmp_path / "tv", download=False, verbose=False)
    msg = str(err.value)
    for way in ("torchvision", data.DATA_ENV, "synthetic=True", "internet"):
        assert way in msg
    # a path that is not there is an error at once (no download instead), with the same advice
    with pytest.raises(FileNotFoundError, match="no data file at .*missing.npz(.|\n)*synthetic=True"):
        data.load_cifar10(tmp_path / "missing.npz", synthetic=True, verbose=False)


def test_synthetic_fallback_is_labelled(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv(data.DATA_ENV, raising=False)
    ds = data.load_cifar10(root=tmp_path / "tv", download=False, synthetic=True)
    assert ds.synthetic
    assert "GENERATED" in capsys.readouterr().out


@pytest.mark.parametrize("arrays, needle", [
    ({"x": np.zeros((2, 32, 32, 3), np.float32), "y": np.zeros(2)}, "uint8"),
    ({"x": np.zeros((2, 3, 32, 32), np.uint8), "y": np.zeros(2)}, "channels last"),
    ({"images": np.zeros((2, 32, 32, 3), np.uint8)}, "expected x"),
    ({"x": np.zeros((2, 32, 32, 3), np.uint8), "y": np.array([0, 10])}, "labels must lie"),
])
def test_bad_npz_files_say_what_was_expected(tmp_path, arrays, needle):
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ValueError, match=needle):
        data.load_npz(tmp_path / "bad.npz")


def test_a_corrupt_npz_is_an_error_not_a_fallback(tmp_path):
    (tmp_path / "cifar10_train.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a readable .npz"):
        data.load_cifar10(tmp_path, synthetic=True, verbose=False)


def test_split_holds_out_the_last_images(shapes):
    tr, va = shapes.split(200)
    assert len(tr) == 1000 and len(va) == 200
    np.testing.assert_array_equal(va.y, shapes.y[-200:])
    assert shapes.split(0) == (shapes, None)
    with pytest.raises(ValueError, match="n_val"):
        shapes.split(len(shapes))


# ---------------------------------------------------------------- augmentation and loader

def test_normalize_matches_torchvision():
    from torchvision.transforms import Normalize

    x = torch.randint(0, 256, (4, 3, 8, 8), dtype=torch.uint8)
    ref = Normalize(data.CIFAR10_MEAN, data.CIFAR10_STD)(x.float() / 255)
    torch.testing.assert_close(data.normalize(x), ref)
    with pytest.raises(ValueError, match="channels first"):
        data.normalize(x.permute(0, 2, 3, 1))


def test_random_flip_flips_about_half_and_nothing_else():
    x = torch.randn(400, 3, 5, 5)
    out = data.random_flip(x, torch.Generator().manual_seed(0))
    same = (out == x).flatten(1).all(1)
    flipped = (out == x.flip(-1)).flatten(1).all(1)
    assert bool((same | flipped).all())
    assert 150 < int(flipped.sum()) < 250


def test_random_translate_is_a_window_of_the_reflect_padded_image():
    x = torch.randn(64, 3, 8, 8)
    out = data.random_translate(x, 2, torch.Generator().manual_seed(1))
    padded = F.pad(x, (2, 2, 2, 2), mode="reflect")
    windows = padded.unfold(2, 8, 1).unfold(3, 8, 1)  # (N, C, 5, 5, 8, 8)
    seen = set()
    for i in range(len(x)):
        hits = [(a, b) for a in range(5) for b in range(5) if torch.equal(windows[i, :, a, b], out[i])]
        assert hits, f"image {i} is not a shifted copy"
        seen.update(hits)
    assert len(seen) > 10  # many different shifts are used
    assert data.random_translate(x, 0) is x


def test_loader_is_seeded_augments_only_in_training_and_covers_everything(shapes):
    a = [yb for _, yb in data.GpuLoader(shapes, 100, seed=7)]
    b = [yb for _, yb in data.GpuLoader(shapes, 100, seed=7)]
    assert all(torch.equal(p, q) for p, q in zip(a, b, strict=True))
    assert len(a) == 12
    ev = data.GpuLoader(shapes, 500, train=False)
    batches = list(ev)
    assert [len(yb) for _, yb in batches] == [500, 500, 200]
    torch.testing.assert_close(batches[0][0], data.normalize(torch.from_numpy(shapes.x[:500]).permute(0, 3, 1, 2)))
    with pytest.raises(ValueError, match="batch_size"):
        data.GpuLoader(shapes, 0)


# ---------------------------------------------------------------- models

def test_parameter_counts():
    assert models.count_parameters(models.LeNet5(in_channels=1)) == 61_706  # the slides' figure
    assert models.count_parameters(models.LeNet5()) == 62_006
    assert models.count_parameters(models.TutorialNet()) == 62_006
    net = models.FastNet(widths=(64, 256, 256))
    # 24x3x2x2 + 24, two 3x3 convs per block, BN shifts (scales frozen but counted), head
    convs = 24 * 3 * 4 + 24 + 9 * (24 * 64 + 64 * 64 + 64 * 256 + 256 * 256 + 256 * 256 + 256 * 256)
    bns = 2 * 2 * (64 + 256 + 256)
    assert models.count_parameters(net) == convs + bns + 256 * 10


@pytest.mark.parametrize("name", sorted(models.MODELS))
def test_every_model_maps_cifar_images_to_ten_scores(name):
    net = models.build(name)
    assert net(torch.randn(3, 3, 32, 32)).shape == (3, 10)
    with pytest.raises(ValueError, match="unknown model"):
        models.build("resnet9000")


def test_whitening_layer_whitens_patches():
    torch.manual_seed(0)
    mix = torch.tensor([[1.0, 0.5, 0.2], [0.0, 1.0, 0.7], [0.3, 0.0, 1.0]])
    imgs = torch.einsum("ij,njhw->nihw", mix, torch.randn(200, 3, 16, 16))
    net = models.FastNet(widths=(8, 8, 8))
    net.init_whitening(imgs, eps=0.0)
    out = F.conv2d(imgs, net.whiten.weight[:12])  # the 12 positive filters
    flat = out.permute(1, 0, 2, 3).reshape(12, -1)
    cov = flat @ flat.T / flat.shape[1]
    torch.testing.assert_close(cov, torch.eye(12), atol=0.05, rtol=0)
    torch.testing.assert_close(net.whiten.weight[12:], -net.whiten.weight[:12])


def test_dirac_init_passes_input_through_the_first_channels():
    net = models.FastNet(widths=(32, 32, 32))
    conv = net.blocks[1].conv2
    x = torch.randn(1, 32, 6, 6)
    torch.testing.assert_close(conv(x), x)


# ---------------------------------------------------------------- config, training, evaluation

def test_config_is_frozen_and_checked():
    cfg = train.TrainConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.lr = 1.0
    with pytest.raises(ValueError, match="optimizer"):
        train.TrainConfig(optimizer="adam")
    with pytest.raises(ValueError, match="epochs"):
        train.TrainConfig(epochs=0)
    assert train.TrainConfig.from_dict(cfg.to_dict()) == cfg


def test_lr_schedule_warms_up_then_decays():
    cfg = train.TrainConfig()
    f = [train._lr_factor(cfg, p) for p in (0.0, 0.23, 0.5, 1.0)]
    assert f[0] == pytest.approx(0.2) and f[1] == pytest.approx(1.0) and f[3] == pytest.approx(0.07)
    assert f[1] > f[2] > f[3]


def test_pick_device_says_which(capsys):
    dev = train.pick_device()
    assert dev.type in ("cpu", "cuda", "mps")
    assert capsys.readouterr().out.startswith(f"device: {dev.type}")
    assert train.pick_device("cpu", verbose=False).type == "cpu"


TINY = dataclasses.replace(train.RECIPES["reference"], model_kwargs={"widths": (16, 32, 32)},
                           epochs=4, batch_size=100, tta=1)


def test_fit_learns_the_synthetic_set(shapes):
    tr, va = shapes.split(200)
    res = train.fit(TINY, tr, va, device="cpu", progress=False, log=None)
    h = res.history
    assert len(h["epoch"]) == 4 and h["step"][-1] == 40
    assert h["train_loss"][-1] < h["train_loss"][0]
    assert res.val_accuracy > 0.5  # chance is 0.1
    assert not res.model.training
    # the same seed gives the same model
    res2 = train.fit(TINY, tr, va, device="cpu", progress=False, log=None)
    for p, q in zip(res.model.parameters(), res2.model.parameters(), strict=True):
        torch.testing.assert_close(p, q)


def test_time_budget_stops_early_with_the_schedule_finished(shapes):
    cfg = dataclasses.replace(TINY, epochs=1000, time_budget_s=1.0)
    res = train.fit(cfg, shapes, None, device="cpu", progress=False, log=None)
    assert res.history["step"][-1] < 12 * 1000  # stopped by the budget, far before its 1,000 epochs


def test_tutorial_recipe_trains_tutorialnet(shapes):
    cfg = dataclasses.replace(train.RECIPES["tutorial"], epochs=0.5, batch_size=20)
    res = train.fit(cfg, shapes, None, device="cpu", progress=False, log=None)
    assert isinstance(res.model, models.TutorialNet) and res.history["step"][-1] == 30


def test_predict_averages_views_and_restores_the_mode(shapes):
    net = models.TutorialNet().train()
    p0 = train.predict(net, shapes.subset(50), tta=0)
    assert p0.shape == (50, 10) and np.allclose(p0.sum(1), 1, atol=1e-5)
    assert net.training
    p1 = train.predict(net, shapes.subset(50), tta=1)
    flipped = data.ImageSet(shapes.x[:50, :, ::-1].copy(), shapes.y[:50], shapes.classes, "x")
    np.testing.assert_allclose(p1, (p0 + train.predict(net, flipped)) / 2, atol=1e-6)
    acc = train.evaluate(net, shapes.subset(50))
    assert acc == pytest.approx(float((p0.argmax(1) == shapes.y[:50]).mean()))


def test_confusion_matrix_counts():
    cm = train.confusion_matrix([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 2, 0], num_classes=3)
    assert cm.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]
    with pytest.raises(ValueError, match="same length"):
        train.confusion_matrix([0, 1], [0])


# ---------------------------------------------------------------- checkpoints

def test_checkpoint_round_trip(tmp_path):
    net = models.FastNet(widths=(8, 16, 16)).eval()
    cfg = dataclasses.replace(TINY, model_kwargs={"widths": (8, 16, 16)})
    p = train.save_checkpoint(tmp_path / "a" / "m.pt", net, config=cfg, accuracy=0.5)
    loaded, info = train.load_checkpoint(p)
    x = torch.randn(2, 3, 32, 32)
    torch.testing.assert_close(loaded(x), net(x))
    assert info["accuracy"] == 0.5 and info["classes"] == list(data.CIFAR10_CLASSES)
    assert train.TrainConfig.from_dict(info["config"]) == cfg
    assert not (tmp_path / "a" / "m.pt.tmp").exists()


def test_checkpoint_of_a_students_own_class_and_a_bare_state_dict(tmp_path):
    class Mine(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3 * 32 * 32, 10)

        def forward(self, x):
            return self.fc(x.flatten(1))

    net = Mine()
    train.save_checkpoint(tmp_path / "m.pt", net)
    with pytest.raises(train.CheckpointError, match="pass an instance"):
        train.load_checkpoint(tmp_path / "m.pt")
    loaded, _ = train.load_checkpoint(tmp_path / "m.pt", model=Mine())
    torch.testing.assert_close(loaded.fc.weight, net.fc.weight)
    torch.save(net.state_dict(), tmp_path / "sd.pt")
    loaded, info = train.load_checkpoint(tmp_path / "sd.pt", model=Mine())
    torch.testing.assert_close(loaded.fc.bias, net.fc.bias)
    assert info["mean"] == list(data.CIFAR10_MEAN)


def test_bad_checkpoints_say_what_is_wrong(tmp_path):
    with pytest.raises(FileNotFoundError, match="train the model"):
        train.load_checkpoint(tmp_path / "none.pt")
    (tmp_path / "junk.pt").write_bytes(b"\x00garbage")
    with pytest.raises(train.CheckpointError, match="not a readable"):
        train.load_checkpoint(tmp_path / "junk.pt")
    torch.save([1, 2, 3], tmp_path / "list.pt")
    with pytest.raises(train.CheckpointError, match="not a model checkpoint"):
        train.load_checkpoint(tmp_path / "list.pt")
    train.save_checkpoint(tmp_path / "tut.pt", models.TutorialNet())
    with pytest.raises(train.CheckpointError, match="do not fit LeNet5"):
        train.load_checkpoint(tmp_path / "tut.pt", model=models.LeNet5())


# ---------------------------------------------------------------- command lines

def run_cli(*args, cwd):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)


@pytest.mark.slow
def test_train_and_evaluate_command_lines(tmp_path, shapes):
    write_npz(tmp_path / "train.npz", data.synthetic_cifar(n=500, seed=0))
    write_npz(tmp_path / "test.npz", shapes.subset(300))
    r = run_cli("cnnlib.train", "--data", "train.npz", "--val", "100", "--out", "ck.pt", "--epochs", "1",
                "--recipe", "tutorial", "--no-progress", "--device", "cpu", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "device: cpu" in r.stdout and re.search(r"val_accuracy 0\.\d{4}", r.stdout)  # --device is honoured
    r = run_cli("cnnlib.evaluate", "ck.pt", "--data", "test.npz", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    last = r.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"accuracy [01]\.\d{4}", last)
    model, info = train.load_checkpoint(tmp_path / "ck.pt")
    expected = train.evaluate(model, shapes.subset(300), tta=info["config"]["tta"], mean=info["mean"], std=info["std"])
    assert float(last.split()[1]) == pytest.approx(expected, abs=1e-4)
    # --val 0: every image trains
    r = run_cli("cnnlib.train", "--data", "train.npz", "--val", "0", "--out", "all.pt", "--epochs", "1",
                "--recipe", "tutorial", "--no-progress", cwd=tmp_path)
    assert r.returncode == 0 and "500 training images, no validation split" in r.stdout


@pytest.mark.slow
def test_command_lines_fail_with_a_message(tmp_path):
    r = run_cli("cnnlib.evaluate", "nothing.pt", "--data", "x.npz", cwd=tmp_path)
    assert r.returncode == 2 and "no checkpoint at nothing.pt" in r.stderr
    r = run_cli("cnnlib.train", "--data", "nothing.npz", "--out", "x.pt", "--no-progress", cwd=tmp_path)
    assert r.returncode == 2 and "no data file at nothing.npz" in r.stderr and "CNNLIB_DATA_DIR" in r.stderr


def test_alternating_flip_mirrors_each_image_in_every_other_epoch():
    ds = data.synthetic_cifar(n=64, seed=2)
    plain = data.normalize(torch.from_numpy(ds.x).permute(0, 3, 1, 2))
    ld = data.GpuLoader(ds, 64, flip=True, translate=0, alternate_flip=True, seed=4)
    states = []
    for _ in range(3):
        xb, _ = next(iter(ld))
        state = {}
        for img in xb:  # shuffled: find each image's source, and whether it is mirrored
            for j in range(64):
                if torch.equal(img, plain[j]):
                    state[j] = False
                elif torch.equal(img, plain[j].flip(-1)):
                    state[j] = True
        assert len(state) == 64
        states.append(state)
    assert 16 < sum(states[0].values()) < 48
    assert all(states[1][j] != states[0][j] and states[2][j] == states[0][j] for j in range(64))


def test_validating_only_at_the_end(shapes):
    tr, va = shapes.split(200)
    cfg = dataclasses.replace(TINY, epochs=2)
    res = train.fit(cfg, tr, va, device="cpu", progress=False, log=None, validate_each_epoch=False)
    assert res.history["val_acc"][0] is None and res.history["val_acc"][-1] is not None
