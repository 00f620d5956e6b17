"""Facts about the machine this process runs on."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform
import sys
from pathlib import Path

# TensorFlow turns on oneDNN's custom operations on CPUs with AVX-512 (and only there). Their numerics differ from
# the default kernels', and their convolution gradients crash Grad-CAM (a segfault in conv2d_backprop_filter). The
# switch is read once, when TensorFlow loads, so fer_core's __init__ imports this module before any part of fer_core
# can import TensorFlow: the same kernels then run on every CPU. Setting TF_ENABLE_ONEDNN_OPTS=1 yourself still turns
# them on. When the caller loaded TensorFlow first, with the switch unset, it comes too late: ONEDNN_MAY_BE_ON is then
# True and explain.saliency avoids TensorFlow's gradients.
ONEDNN_MAY_BE_ON = "tensorflow" in sys.modules and "TF_ENABLE_ONEDNN_OPTS" not in os.environ
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

# The most pixels an image may decode to (fer_core.inference.imageio checks headers against it first). OpenCV reads
# its own limit from the environment once, when its codecs first run, so it is set here, before fer_core loads cv2.
MAX_IMAGE_PIXELS = 50_000_000
os.environ.setdefault("OPENCV_IO_MAX_IMAGE_PIXELS", str(MAX_IMAGE_PIXELS))

# Instruction sets that change how fast a network trains here: AVX-512 lets oneDNN pick wider kernels, and
# AVX-512 BF16 or AMX make a bfloat16 policy run natively instead of emulated.
_SPEED_FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_bf16")


def usable_cores() -> int:
    """Cores this process may run on (its affinity mask, which containers narrow), not the host's total."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def speed_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> list[str]:
    """Which of the instruction sets that decide training speed the CPU has (empty where cpuinfo can't be read)."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return []
    flags = next((line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")), [])
    return [flag for flag in _SPEED_FLAGS if flag in flags]


def native_bfloat16(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """Whether the CPU computes bfloat16 itself (AVX-512 BF16 or AMX); elsewhere it is emulated, slower than
    float32."""
    return bool({"avx512_bf16", "amx_bf16"} & set(speed_flags(cpuinfo)))


def describe(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """One line for records of where a model was trained or timed, e.g. 'x86_64, 2 cores, avx2 avx512f'."""
    flags = speed_flags(cpuinfo)
    return f"{platform.machine()}, {usable_cores()} cores" + (f", {' '.join(flags)}" if flags else "")


# mallopt parameters (glibc's malloc.h).
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_MMAP_THRESHOLD_MAX = 32 * 1024 * 1024  # glibc's ceiling on 64-bit


def keep_freed_memory() -> bool:
    """Ask glibc's malloc to keep freed memory for reuse instead of handing it back to the kernel.

    A training step allocates and frees the same multi-megabyte tensors over and over. By default glibc maps the
    large ones fresh and trims the heap as they are freed, so every step faults in and zeroes new pages: measured
    on a `vgg_fast` run here, nearly half the process's CPU time was spent in the kernel. Call it once the work
    has started (training calls it after the second step of each epoch): called before TensorFlow's first training
    step, the kernel's share stayed near half in the same measurement. Returns whether the setting took (False off
    glibc, where nothing is changed)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_MAX)) and bool(mallopt(_M_TRIM_THRESHOLD, 2**31 - 1))
