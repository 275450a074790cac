"""The benchmark runner lists and finds every benchmark module."""
import subprocess
import sys

from bench.__main__ import available


def test_runner_lists_the_benchmarks():
    names = available()
    assert "common" not in names and names == sorted(names)
    done = subprocess.run([sys.executable, "-m", "bench"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and all(n in done.stdout for n in names)


def test_unknown_benchmark_is_a_clear_error():
    done = subprocess.run([sys.executable, "-m", "bench", "no-such-bench"], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2 and "no benchmark named" in done.stderr
