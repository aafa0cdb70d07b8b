"""Row steps: ``take``, ``skip``, ``take_random_sample``, ``sample``, ``select_partitions``."""

from __future__ import annotations

import dataclasses
import random
from typing import Any

import numpy as np
import pandas as pd

from ._core import _PARTITION, Fail, _Run
from ._options import _choice, _is_int, _Option, _options, _whole


def _validate_count(value: Any, fail: Fail) -> int:
    if not _is_int(value) or value < 0:
        raise fail(f"expects a whole number of rows >= 0, got {value!r}")
    return value


# Partitions (one per file for small files) outlive take and skip in the reference: take keeps
# the partitions up to the one it ends in, skip those from the one it ends in (even if it ends
# exactly at that partition's last row); select_partitions counts in what is left.


def _partition_ends(table: pd.DataFrame, run: _Run) -> list[int]:
    """The number of rows up to and including each current partition, in order."""
    sizes = table[_PARTITION].value_counts()
    ends, total = [], 0
    for partition in run.partitions:
        total += int(sizes.get(partition, 0))
        ends.append(total)
    return ends


def _apply_take(table: pd.DataFrame, count: int, run: _Run) -> pd.DataFrame:
    ends = _partition_ends(table, run)
    last = next((index for index, end in enumerate(ends) if end >= count), len(ends) - 1)
    run.partitions = run.partitions[: last + 1]
    if run.data_read:
        run.records |= set(run.partitions)
    return table.iloc[:count]


def _apply_skip(table: pd.DataFrame, count: int, run: _Run) -> pd.DataFrame:
    if count:
        ends = _partition_ends(table, run)
        first = next((index for index, end in enumerate(ends) if end >= count), len(ends))
        run.partitions = run.partitions[first:]
        if run.data_read and run.partitions:
            run.records.add(run.partitions[0])
    return table.iloc[count:]


def _probability() -> _Option:
    # YAML must say 1.0, not 1: the reference wants a float here.
    return _Option(
        None,
        "a decimal number between 0.0 and 1.0",
        lambda v: isinstance(v, float) and 0 <= v <= 1,
        required=True,
    )


def _validate_sample(value: Any, fail: Fail) -> dict[str, Any]:
    options = _options(value, {"probability": _probability(), "seed": _whole(required=True)}, fail)
    return {"low": 0.0, "high": options["probability"], "seed": options["seed"]}


def _validate_sampler(value: Any, fail: Fail) -> dict[str, Any]:
    spec = {
        "sampler": _choice(None, ("random_percent", "randomPercent")),
        "sampler_arguments": _Option(None, "a mapping", lambda v: isinstance(v, dict)),
    }
    options = _options(value, {k: dataclasses.replace(o, required=True) for k, o in spec.items()}, fail)
    arguments = _options(
        options["sampler_arguments"],
        {
            "probability": _probability(),
            "probability_lower_bound": _probability(),
            "seed": _whole(required=True),
        },
        lambda detail: fail(f"sampler_arguments: {detail}"),
    )
    return {
        "low": arguments["probability_lower_bound"],
        "high": arguments["probability"],
        "seed": arguments["seed"],
    }


def _apply_sample(table: pd.DataFrame, options: dict[str, Any], run: _Run) -> pd.DataFrame:
    # Each row draws one number in [0, 1) and is kept if it falls in [low, high); a seed makes it
    # repeatable. The reference's random generator is its own, so the rows differ from its rows.
    rng = random.Random(options["seed"])
    draws = [rng.random() for _ in range(len(table))]
    return table[np.array([options["low"] <= draw < options["high"] for draw in draws], dtype=bool)]


def _validate_partitions(value: Any, fail: Fail) -> tuple[int, ...]:
    if not isinstance(value, list) or not all(_is_int(item) and item >= 0 for item in value):
        raise fail(f"expects a list of partition numbers (0 is the first file), got {value!r}")
    return tuple(value)


def _apply_partitions(table: pd.DataFrame, indices: tuple[int, ...], run: _Run) -> pd.DataFrame:
    # Small files are one partition each, so a partition is a file, in listing order.
    for index in indices:
        if index >= len(run.partitions):
            raise run.fail(
                f"partition {index} does not exist: there are {len(run.partitions)} (one per file, counting from 0)"
            )
    run.partitions = [run.partitions[index] for index in sorted(set(indices))]
    return table[table[_PARTITION].isin(run.partitions)]
