"""cnnlib.data.hw2_test_set: the instructor chooses HW2's test set with $CNNLIB_HW2_TEST."""

import numpy as np
import pytest

from cnnlib import data


@pytest.fixture(autouse=True)
def no_data_config(monkeypatch, tmp_path):
    for var in (data.HW2_TEST_ENV, data.DATA_ENV, "NBGRADER_EXECUTION"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no torchvision cache of the real machine


def test_synthetic_word_gives_the_generated_test_split(monkeypatch, capsys):
    monkeypatch.setenv(data.HW2_TEST_ENV, "synthetic")
    ds = data.hw2_test_set()
    ref = data.synthetic_cifar(1000, seed=1)
    assert ds.synthetic and len(ds) == 1000
    assert np.array_equal(ds.x, ref.x) and np.array_equal(ds.y, ref.y)
    assert "test set: 1,000 images, GENERATED" in capsys.readouterr().out


def test_npz_named_by_the_variable_is_loaded(monkeypatch, tmp_path):
    x = np.random.default_rng(0).integers(0, 256, (7, 32, 32, 3), dtype=np.uint8)
    y = np.arange(7) % 10
    path = tmp_path / "test.npz"
    np.savez(path, x=x, y=y)
    monkeypatch.setenv(data.HW2_TEST_ENV, str(path))
    ds = data.hw2_test_set(verbose=False)
    assert not ds.synthetic and ds.source == str(path)
    assert np.array_equal(ds.x, x) and ds.y.tolist() == y.tolist()
    assert data.hw2_test_set("SYNTHETIC", verbose=False).synthetic  # the argument wins over the variable


def test_missing_or_malformed_file_raises_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv(data.HW2_TEST_ENV, str(tmp_path / "nope.npz"))
    with pytest.raises(FileNotFoundError, match=r"no file at .*nope\.npz .*CNNLIB_HW2_TEST.*'synthetic'"):
        data.hw2_test_set()
    bad = tmp_path / "bad.npz"
    np.savez(bad, x=np.zeros((2, 28, 28), np.uint8), y=np.zeros(2))
    with pytest.raises(ValueError, match=r"uint8 \(N, 32, 32, 3\)"):
        data.hw2_test_set(bad)


def test_without_configuration_or_data_the_instructor_is_told_what_to_set(monkeypatch):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")  # grading: never download
    calls = []

    def fake_torchvision(root, train, download):
        calls.append((train, download))
        raise RuntimeError("Dataset not found or corrupted")

    monkeypatch.setattr(data, "_torchvision_cifar10", fake_torchvision)
    with pytest.raises(FileNotFoundError) as err:
        data.hw2_test_set()
    assert calls == [(False, False)]
    msg = str(err.value)
    assert "Instructor: set CNNLIB_HW2_TEST to a .npz file" in msg and "'synthetic'" in msg
    assert "CNNLIB_DATA_DIR" in msg


def test_default_is_cifar10_test_split_from_the_data_dir(monkeypatch, tmp_path):
    x = np.zeros((3, 32, 32, 3), np.uint8)
    np.savez(tmp_path / "cifar10_test.npz", x=x, y=np.array([1, 2, 3]))
    monkeypatch.setenv(data.DATA_ENV, str(tmp_path))
    ds = data.hw2_test_set(verbose=False)
    assert ds.source == str(tmp_path / "cifar10_test.npz") and ds.y.tolist() == [1, 2, 3]
