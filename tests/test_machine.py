"""fer_core.machine: facts about the machine, and glibc keeping freed memory for training."""

import platform
import subprocess
import sys

import pytest

from fer_core.machine import describe, keep_freed_memory, native_bfloat16, speed_flags, usable_cores
from helpers import REPO_ROOT

# Two threads allocate and free large buffers over and over, as a training step's kernels do; the script prints
# the page faults this costs.
CHURN = """
import resource, sys, threading
import numpy as np
if sys.argv[1] == "keep":
    from fer_core.machine import keep_freed_memory
    assert keep_freed_memory()

def churn():
    for _ in range(30):
        buffers = [np.ones(size << 20, np.uint8) for size in (3, 9, 20, 6)]
        del buffers

before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
threads = [threading.Thread(target=churn) for _ in range(2)]
[t.start() for t in threads]
[t.join() for t in threads]
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def test_usable_cores_counts_at_least_one():
    assert usable_cores() >= 1


def test_speed_flags_are_read_from_cpuinfo_in_a_fixed_order(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx512_bf16 avx2 avx512f avx512bw\n\n"
                       "processor\t: 1\nflags\t\t: fpu sse2 avx512_bf16 avx2 avx512f avx512bw\n")
    assert speed_flags(cpuinfo) == ["avx2", "avx512f", "avx512_bf16"]
    assert describe(cpuinfo) == f"{platform.machine()}, {usable_cores()} cores, avx2 avx512f avx512_bf16"
    assert native_bfloat16(cpuinfo)
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f\n")
    assert not native_bfloat16(cpuinfo) and not native_bfloat16(tmp_path / "missing")


def test_a_machine_without_cpuinfo_is_described_by_its_cores(tmp_path):
    assert speed_flags(tmp_path / "missing") == []
    assert describe(tmp_path / "missing") == f"{platform.machine()}, {usable_cores()} cores"


def _page_faults(mode: str) -> int:
    done = subprocess.run([sys.executable, "-c", CHURN, mode], cwd=REPO_ROOT, capture_output=True, text=True,
                          check=True)
    return int(done.stdout.split()[-1])


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc's mallopt")
def test_kept_memory_is_reused_instead_of_faulted_in_again():
    assert keep_freed_memory()
    assert _page_faults("keep") < 0.75 * _page_faults("default")
