"""Facts about the machine this process runs on."""

from __future__ import annotations

import ctypes
import ctypes.util
import os


def usable_cores() -> int:
    """Cores this process may run on (its affinity mask, which containers narrow), not the host's total."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


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
