"""Simulated NVIDIA drivers for the test suite: fake libnvidia-ml.so.1 and libcuda.so.1 compiled from C,
a fake nvidia-smi, and a fake procfs/sysfs root. See `machine.py`."""
