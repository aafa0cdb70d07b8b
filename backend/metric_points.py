"""Downsampling a long metric history for a chart: the shape of the curve, with its extremes exact.

The history (in step order) is cut into buckets of consecutive points; each bucket keeps its lowest
and its highest point, in their order. The first and the last point of the history are always kept,
so a chart of a 100,000-point history drawn from about ``budget`` points shows the same first, last,
lowest and highest values as the whole history. NaN values are kept where they fall first in a bucket
(a chart shows a gap). Pure and dependency-free: the tracking server's workers use it too.
"""

from __future__ import annotations

from collections.abc import Sequence

Point = tuple[int, int, float]  # step, timestamp (ms), value


def downsample(points: Sequence[Point], budget: int) -> list[Point]:
    """At most ``budget`` points (``budget`` >= 4) of ``points``, with first, last, min and max exact."""
    n = len(points)
    if n <= budget:
        return list(points)
    buckets = max(1, (budget - 2) // 2)
    kept: list[int] = [0]
    inner = n - 2
    for b in range(buckets):
        lo, hi = 1 + b * inner // buckets, 1 + (b + 1) * inner // buckets
        if lo >= hi:
            continue
        low = high = nan = None
        for i in range(lo, hi):
            value = points[i][2]
            if value != value:
                nan = i if nan is None else nan
                continue
            if low is None or value < points[low][2]:
                low = i
            if high is None or value > points[high][2]:
                high = i
        chosen = sorted({i for i in (low, high) if i is not None} or {nan if nan is not None else lo})
        kept.extend(chosen)
    kept.append(n - 1)
    return [points[i] for i in kept]
