from __future__ import annotations

import contextlib

import pytest
import torch

from lightable.core.errors import LightableError
from lightable.ml.devices import BatchRunner, DeviceError, autocast, choose_device, describe_device


def test_auto_and_cpu() -> None:
    assert choose_device("cpu").type == "cpu"
    expected = (
        "cuda"
        if torch.cuda.is_available()
        else "mps"
        if torch.backends.mps.is_available()
        else "cpu"
    )
    assert choose_device("auto").type == expected
    assert choose_device(None).type == expected


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_absent_cuda_is_a_clear_error() -> None:
    with pytest.raises(DeviceError, match=r"'cuda' was requested but .*--device cpu"):
        choose_device("cuda")


@pytest.mark.skipif(torch.backends.mps.is_available(), reason="this machine has MPS")
def test_absent_mps_is_a_clear_error() -> None:
    with pytest.raises(DeviceError, match="MPS is not available"):
        choose_device("mps")


def test_unknown_device() -> None:
    with pytest.raises(DeviceError, match="unknown device 'tpu'"):
        choose_device("tpu")


def test_describe_cpu() -> None:
    info = describe_device("cpu")
    assert info.type == "cpu" and "CPU" in str(info)
    assert info.total_memory and info.total_memory > 0
    assert "GiB" in str(info)


def test_autocast_only_on_cuda() -> None:
    assert isinstance(autocast(torch.device("cpu")), contextlib.nullcontext)


def test_out_of_memory_halves_the_batch_and_goes_on() -> None:
    calls: list[int] = []
    shrinks: list[int] = []

    def fn(items):
        calls.append(len(items))
        if len(items) > 2:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2 GiB")
        return [x * 10 for x in items]

    runner = BatchRunner(fn, 8, torch.device("cpu"), shrinks.append)
    assert runner(list(range(8))) == [x * 10 for x in range(8)]
    assert runner.batch_size == 2 and shrinks == [4, 2]
    calls.clear()
    assert runner([1, 2, 3, 4, 5]) == [10, 20, 30, 40, 50]
    assert calls == [2, 2, 1]  # the smaller size sticks


def test_one_item_that_does_not_fit() -> None:
    def fn(items):
        raise RuntimeError("CUDA error: out of memory")

    with pytest.raises(LightableError, match="does not fit"):
        BatchRunner(fn, 4, torch.device("cpu"))([1, 2])


def test_other_errors_pass_through() -> None:
    def fn(items):
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        BatchRunner(fn, 4, torch.device("cpu"))([1])
