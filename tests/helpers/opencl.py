"""Tests that need an OpenCL platform skip with the reason where there is none, unless CI
demands toolchains (ABI_REQUIRE_TOOLCHAINS set): there they run, and fail."""

from __future__ import annotations

import os

import pytest

from abi.compute.devices import discover

NO_OPENCL = "no OpenCL platform (install pocl-opencl-icd)"


def opencl_missing() -> bool:
    """True when no OpenCL platform is installed and CI does not demand one."""
    return not discover() and not os.environ.get("ABI_REQUIRE_TOOLCHAINS")


def skip_without_opencl() -> None:
    """Skip the running test (a parametrised case, say) where OpenCL is missing."""
    if opencl_missing():
        pytest.skip(NO_OPENCL)
