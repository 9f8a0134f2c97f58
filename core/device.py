"""Pick the torch device: CUDA when there is one, else Apple MPS, else the CPU."""
from __future__ import annotations

import torch


def get_device(prefer: str | torch.device | None = None) -> torch.device:
    """Return the device to run on.

    `prefer=None` picks CUDA, then MPS, then CPU. Any device string ("cpu", "cuda:0", "mps")
    forces that device; asking for one that is not available raises a ValueError that says so.
    """
    if prefer is not None:
        dev = torch.device(prefer)
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise ValueError("CUDA was asked for but no CUDA device is available")
        if dev.type == "mps" and not _mps_available():
            raise ValueError("MPS was asked for but Apple MPS is not available")
        return dev
    if torch.cuda.is_available():
        return torch.device("cuda")
    if _mps_available():
        return torch.device("mps")
    return torch.device("cpu")


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def describe_device(device: torch.device | None = None) -> str:
    """A short human label, e.g. 'CUDA (NVIDIA H100)', 'Apple MPS' or 'CPU (2 threads)'."""
    device = device or get_device()
    if device.type == "cuda":
        return f"CUDA ({torch.cuda.get_device_name(device)})"
    if device.type == "mps":
        return "Apple MPS"
    return f"CPU ({torch.get_num_threads()} threads)"
