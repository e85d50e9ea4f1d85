"""torch's CUDA from its metadata alone, in both spellings its wheels used (read from the index's METADATA)."""

import pytest

from ftdoctor.facts.model import Distribution
from ftdoctor.probes.torch_probe import cuda_from_metadata


@pytest.mark.parametrize("requires, cuda", [
    ('nvidia-cuda-runtime-cu12 (==12.1.105) ; platform_system == "Linux" and platform_machine == "x86_64"', "12.1"),
    ('nvidia-cuda-runtime-cu12==12.8.90; platform_system == "Linux" and platform_machine == "x86_64"', "12.8"),
    ('cuda-toolkit[cublas,cudart]==13.2.2; platform_system == "Linux"', "13.2"),
])
def test_cuda_from_requires(requires, cuda):
    assert cuda_from_metadata(Distribution("torch", "2.6.0", requires=(requires,))) == cuda


def test_local_label_wins():
    assert cuda_from_metadata(Distribution("torch", "2.6.0+cu126")) == "12.6"
    assert cuda_from_metadata(Distribution("torch", "2.6.0+cpu")) is None
