"""Line-heavy pure Python: the coverage tracer's cost dominates the suite's time."""

import os

N = int(os.environ.get("TRACER_LEVER_N", "50000"))


def collatz_steps(n):
    steps = 0
    while n != 1:
        if n % 2 == 0:
            n //= 2
        else:
            n = 3 * n + 1
        steps += 1
    return steps


def work(seed, count=N // 20):
    total = 0
    for i in range(seed, seed + count):
        total += collatz_steps(i)
    return total


def never_called():
    return "this line stays uncovered"
