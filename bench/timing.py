"""Timing shared by the benchmarks: progress lines, and tasks timed round robin.

Machines are noisy, so the benchmarks never time one thing after another: every figure comes
from `round_robin`, which times each task once (or `reps` times) per round and rotates the
order from round to round, and the reported figure is the median over the rounds.
"""

import statistics
import sys
import time

START = time.perf_counter()


def progress(message):
    """Prints `message` to stderr with the seconds since the benchmark started."""
    print(f"[{time.perf_counter() - START:7.1f}s] {message}", file=sys.stderr, flush=True)


def seconds_of(fn):
    """(seconds one call of `fn` took, its result)."""
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def round_robin(tasks, rounds, reps=1, log=None):
    """{name: [seconds per call, ...]} of `tasks` ({name: fn}): `rounds` rounds of `reps` calls
    of each task, every round starting one task later than the one before."""
    names = list(tasks)
    samples = {name: [] for name in names}
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            samples[name].extend(seconds_of(tasks[name])[0] for _ in range(reps))
        if log:
            log(f"  round {r + 1}/{rounds} done")
    return samples


def medians(samples):
    """{name: median} of `round_robin`'s samples."""
    return {name: statistics.median(values) for name, values in samples.items()}
