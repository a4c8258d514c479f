"""Shared helpers: atomic_write, check_device, batched_inference."""

import os

import numpy as np
import pytest
import torch

from sklearn_lravae._utils import atomic_write, batched_inference, check_device


# ------------------------------------------------------------------ atomic_write
def test_atomic_write_writes_and_replaces(tmp_path):
    path = atomic_write(tmp_path / "a.bin", lambda fh: fh.write(b"one"))
    assert path == tmp_path / "a.bin" and path.read_bytes() == b"one"
    atomic_write(str(path), lambda fh: fh.write(b"two"))
    assert path.read_bytes() == b"two" and os.listdir(tmp_path) == ["a.bin"]


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_atomic_write_failure_keeps_the_old_file_and_no_temporary(tmp_path, error):
    path = tmp_path / "model.lravae"
    path.write_bytes(b"old")

    def write(fh):
        fh.write(b"half of the new")
        raise error("disk full")

    with pytest.raises(error, match="disk full"):
        atomic_write(path, write)
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["model.lravae"]  # the temporary file is gone
    with pytest.raises(error):
        atomic_write(tmp_path / "new.bin", write)
    assert os.listdir(tmp_path) == ["model.lravae"]  # no partial new file either


def test_atomic_write_missing_folder(tmp_path):
    missing = tmp_path / "no" / "such"
    with pytest.raises(FileNotFoundError, match=f"the folder {missing} does not exist"):
        atomic_write(missing / "a.txt", lambda fh: fh.write(b"x"))
    assert not missing.exists()
    atomic_write(missing / "a.txt", lambda fh: fh.write(b"x"), make_parents=True)
    assert (missing / "a.txt").read_bytes() == b"x"


# ------------------------------------------------------------------ check_device
def test_check_device_accepts_cpu():
    assert check_device("cpu") == torch.device("cpu")
    assert check_device(torch.device("cpu")) == torch.device("cpu")


@pytest.mark.parametrize("device", ["gpu", "cuda:x", "tpu0"])
def test_check_device_rejects_unknown_names(device):
    with pytest.raises(ValueError, match=f"device='{device}' is not a torch device; use 'cpu'"):
        check_device(device)
    with pytest.raises(ValueError, match=f"^--device='{device}' is not a torch device"):
        check_device(device, option="--device")


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA GPU is present")
def test_check_device_without_cuda():
    with pytest.raises(ValueError, match=r"device='cuda', but .* no CUDA GPU.*use device 'cpu'"):
        check_device("cuda")
    with pytest.raises(ValueError, match="device='cuda:1', but"):
        check_device("cuda:1")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_check_device_cuda_index_out_of_range():
    n = torch.cuda.device_count()
    assert check_device("cuda:0") == torch.device("cuda:0")
    with pytest.raises(ValueError, match=f"only {n} CUDA device"):
        check_device(f"cuda:{n}")


@pytest.mark.skipif(torch.backends.mps.is_available(), reason="MPS is available")
def test_check_device_without_mps():
    with pytest.raises(ValueError, match="device='mps', but MPS is not available here"):
        check_device("mps")


# ------------------------------------------------------------ batched_inference
class _Recorder(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.batches, self.modes, self.grad = [], [], []

    def forward(self, x):
        self.batches.append(len(x))
        self.modes.append(self.training)
        self.grad.append(torch.is_grad_enabled())
        assert x.dtype == torch.float32
        return x.sum(1, keepdim=True) * 2


@pytest.mark.parametrize("training", [True, False])
def test_batched_inference_batches_in_eval_mode_and_restores_the_flag(training):
    module = _Recorder().train(training)
    A = np.arange(14, dtype=np.float64).reshape(7, 2)
    out = batched_inference(module, lambda m, x: m(x), A, "cpu", batch_size=3)
    assert module.batches == [3, 3, 1]
    assert module.modes == [False] * 3 and module.grad == [False] * 3
    assert module.training is training
    assert out.dtype == np.float32 and out.shape == (7, 1)
    np.testing.assert_array_equal(out.ravel(), 2 * A.sum(1))


def test_batched_inference_restores_the_flag_on_error():
    module = _Recorder().train()

    def fail(m, x):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        batched_inference(module, fail, np.zeros((3, 2)), "cpu")
    assert module.training is True


def test_batched_inference_empty_input():
    out = batched_inference(torch.nn.Identity(), lambda m, x: m(x), np.zeros((0, 2)), "cpu")
    assert len(out) == 0
