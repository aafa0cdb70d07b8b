"""Counterfactual examples: the smallest changes to a row that would change the model's answer.

A model-agnostic, deterministic search in the spirit of DiCE (Mothilal et al. 2020), sized for a job
that explains a handful of rows: candidate values come from the reference data (quantiles of numeric
columns, the categories of the others); single-feature changes are tried first (numeric ones then
narrowed to the decision boundary by bisection), then pairs, then random multi-feature changes that
are greedily reverted feature by feature while they stay valid (sparser answers read better). Every
step predicts one batch, so the model is called a few dozen times per row, never once per candidate.

Distance: a numeric change counts ``|new - old| / MAD`` of the column in the reference data (the
standard deviation when the MAD is 0), a categorical change counts 1.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pandas as pd

METHOD = (
    "Sparse counterfactual search (DiCE-style: quantile candidates, 1- and 2-feature changes, "
    "random search with greedy sparsification)"
)
SINGLE_QUANTILES = np.linspace(0.0, 1.0, 41)
PAIR_QUANTILES = np.linspace(0.0, 1.0, 11)
MAX_CATEGORIES = 30
RANDOM_SAMPLES = 1500
BISECTION_STEPS = 12


def counterfactuals(
    model,
    X: pd.DataFrame,
    rows: list[int],
    *,
    task: str,
    total_CFs: int = 10,
    desired_class: Any = "opposite",
    desired_range: list[float] | None = None,
    features_to_vary: str | list[str] = "all",
    permitted_range: dict[str, list] | None = None,
    categorical: tuple[str, ...] | list[str] = (),
    reference: pd.DataFrame | None = None,
    random_state: int = 0,
) -> dict:
    """Up to ``total_CFs`` counterfactuals for each row of ``X`` at the positions ``rows``, nearest first.

    ``model`` is anything with ``predict(df)`` on the feature columns of ``X``. Classification aims
    at ``desired_class`` (``"opposite"``: the other class of a binary model); regression at a
    prediction inside ``desired_range``. Only ``features_to_vary`` change, within ``permitted_range``.
    """
    regression = task == "regression"
    if regression and (desired_range is None or len(desired_range) != 2):
        raise ValueError("regression counterfactuals need desired_range [low, high]")
    reference = X if reference is None else reference
    if features_to_vary == "all":
        vary = list(X.columns)
    else:
        vary = [features_to_vary] if isinstance(features_to_vary, str) else list(features_to_vary)
    unknown = sorted(set(vary) - set(X.columns))
    if unknown:
        raise ValueError(f"features_to_vary names columns the data does not have: {', '.join(unknown)}")
    space = _Space(X, reference, vary, set(categorical), permitted_range or {})
    classes = None if regression else _classes(model, reference)
    rng = np.random.default_rng(random_state)
    explained = []
    for position in rows:
        row = X.iloc[[position]].reset_index(drop=True)
        prediction = model.predict(row)[0]
        goal = _Goal(desired_range) if regression else _Goal.for_class(desired_class, prediction, classes)
        found = _search(model, row, space, goal, total_CFs, rng)
        explained.append(
            {
                "index": int(position),
                "original": {str(c): _plain(v) for c, v in _values(row).items()},
                "prediction": _plain(prediction),
                "desired": goal.describe(),
                "counterfactuals": found[:total_CFs],
            }
        )
    target = (
        {"desired_range": [float(v) for v in desired_range]}
        if regression
        else {"desired_class": _plain(desired_class)}
    )
    return {"method": METHOD, **target, "features_to_vary": vary, "rows": explained}


class _Goal:
    """Which predictions count as the desired outcome."""

    def __init__(self, desired_range=None, label=None):
        self.range = desired_range
        self.label = label

    @classmethod
    def for_class(cls, desired, prediction, classes) -> _Goal:
        if desired == "opposite":
            if len(classes) != 2:
                raise ValueError('desired_class "opposite" needs a binary classifier; name the class instead')
            return cls(label=next(c for c in classes if str(c) != str(prediction)))
        matches = [c for c in classes if str(c) == str(desired)]
        if not matches:
            raise ValueError(f"desired_class {desired!r} is not one of the model's classes {classes}")
        return cls(label=matches[0])

    def reached(self, predictions) -> np.ndarray:
        predictions = np.asarray(predictions)
        if self.range is not None:
            values = predictions.astype(float)
            return (values >= self.range[0]) & (values <= self.range[1])
        return np.array([str(p) == str(self.label) for p in predictions], dtype=bool)

    def describe(self):
        return [float(v) for v in self.range] if self.range is not None else _plain(self.label)


def _classes(model, reference: pd.DataFrame) -> list:
    """The model's classes, or the labels it predicts on the reference rows when it does not say."""
    for name in ("classes", "classes_"):
        classes = getattr(model, name, None)
        if classes is not None:
            return list(classes)
    return sorted(pd.unique(np.asarray(model.predict(reference))).tolist(), key=str)


class _Space:
    """Candidate values, scales and integer-ness per feature allowed to vary."""

    def __init__(self, X, reference, vary, categorical, permitted):
        self.columns = list(X.columns)
        self.dtypes = X.dtypes
        self.vary = vary
        self.categorical = {
            c for c in X.columns if c in categorical or not pd.api.types.is_numeric_dtype(X[c])
        }
        self.permitted = permitted
        self.integer = {c for c in X.columns if pd.api.types.is_integer_dtype(X[c])}
        self.decimals = {c: _decimals(reference[c]) for c in vary if c not in self.categorical}
        self.scale = {c: _scale(reference[c]) for c in vary if c not in self.categorical}
        self.single = {c: self._values(reference[c], c, SINGLE_QUANTILES) for c in vary}
        self.pair = {c: self._values(reference[c], c, PAIR_QUANTILES) for c in vary}

    def _values(self, column: pd.Series, name: str, quantiles) -> list:
        bounds = self.permitted.get(name)
        if name in self.categorical:
            values = column.dropna().value_counts().index[:MAX_CATEGORIES].tolist()
            return [v for v in values if bounds is None or v in bounds]
        values = np.quantile(column.dropna().astype(float), quantiles)
        if bounds is not None:
            values = np.clip(values, float(bounds[0]), float(bounds[1]))
            values = np.concatenate([values, [float(bounds[0]), float(bounds[1])]])
        return sorted(set(self.cast(name, values).tolist()))

    def cast(self, name, values):
        """Integers stay integers; floats keep the precision the data has (0.281, not 0.28099...)."""
        values = np.asarray(values, dtype=float)
        if name in self.integer:
            return np.round(values).astype(np.int64)
        return np.round(values, self.decimals[name])

    def distance(self, name, old, new) -> float:
        if name in self.categorical:
            return 0.0 if new == old else 1.0
        return abs(float(new) - float(old)) / self.scale[name]


def _decimals(column: pd.Series, most: int = 6) -> int:
    """The fewest decimals that represent every value of the column (``most`` at most)."""
    values = column.dropna().astype(float).to_numpy()
    for decimals in range(most):
        if np.allclose(values, np.round(values, decimals), rtol=0.0, atol=1e-9):
            return decimals
    return most


def _scale(column: pd.Series) -> float:
    """Median absolute deviation, else the standard deviation, else 1: the unit a change is measured in."""
    values = column.dropna().astype(float).to_numpy()
    if values.size == 0:
        return 1.0
    mad = float(np.median(np.abs(values - np.median(values))))
    if mad > 0:
        return mad
    std = float(np.std(values))
    return std if std > 0 else 1.0


def _search(model, row: pd.DataFrame, space: _Space, goal: _Goal, total: int, rng) -> list[dict]:
    """Single changes, then pairs, then random sparse changes, until ``total`` distinct answers exist."""
    original = _values(row)
    found: dict[tuple, dict] = {}
    for stage in (_singles, _pairs, _random):
        for changes in stage(model, original, space, goal, rng):
            _keep(found, original, changes, space)
        if len(found) >= total:
            break
    if not found:
        return []
    final = [changes for changes, _ in sorted(found.values(), key=lambda item: item[1])][:total]
    predictions = model.predict(_frame(original, final, space))
    return [_describe(original, changes, p, space) for changes, p in zip(final, predictions, strict=True)]


def _keep(found: dict, original: dict, changes: dict, space: _Space) -> None:
    """Keep the nearest answer per set of changed features (and direction): variety over near-duplicates."""
    key = tuple(sorted((f, _direction(original[f], v, f, space)) for f, v in changes.items()))
    distance = sum(space.distance(f, original[f], v) for f, v in changes.items())
    if key not in found or distance < found[key][1]:
        found[key] = (changes, distance)


def _direction(old, new, name, space: _Space):
    if name in space.categorical:
        return str(new)
    return "up" if float(new) > float(old) else "down"


def _frame(original: dict, changes_list: list[dict], space: _Space) -> pd.DataFrame:
    """One row per change set, with the original row's dtypes (integer columns stay integers)."""
    data = {}
    for column in space.columns:
        values = [changes.get(column, original[column]) for changes in changes_list]
        data[column] = pd.Series(values, dtype=space.dtypes[column])
    return pd.DataFrame(data)


def _predict_reached(model, original, changes_list, space, goal) -> np.ndarray:
    if not changes_list:
        return np.zeros(0, dtype=bool)
    return goal.reached(model.predict(_frame(original, changes_list, space)))


def _singles(model, original, space, goal, rng) -> list[dict]:
    """Every candidate value of one feature; numeric winners are then moved back to the boundary."""
    tries = [{f: v} for f in space.vary for v in space.single[f] if not _same(v, original[f])]
    reached = _predict_reached(model, original, tries, space, goal)
    winners = [changes for changes, ok in zip(tries, reached, strict=True) if ok]
    nearest: dict[tuple, dict] = {}
    for changes in winners:
        _keep(nearest, original, changes, space)
    numeric = [c for c, _ in nearest.values() if next(iter(c)) not in space.categorical]
    categorical = [c for c, _ in nearest.values() if next(iter(c)) in space.categorical]
    return categorical + _bisect(model, original, numeric, space, goal)


def _bisect(model, original, winners: list[dict], space: _Space, goal: _Goal) -> list[dict]:
    """Narrow each one-feature numeric change towards the original value while the goal still holds."""
    if not winners:
        return []
    names = [next(iter(c)) for c in winners]
    low = np.array([_clip(float(original[n]), space.permitted.get(n)) for n in names])
    high = np.array([float(c[n]) for c, n in zip(winners, names, strict=True)])
    for _ in range(BISECTION_STEPS):
        middle = [space.cast(n, [(lo + hi) / 2])[0] for n, lo, hi in zip(names, low, high, strict=True)]
        reached = _predict_reached(
            model, original, [{n: m} for n, m in zip(names, middle, strict=True)], space, goal
        )
        for i, (ok, m) in enumerate(zip(reached, middle, strict=True)):
            if _same(m, original[names[i]]) or _same(m, high[i]):
                continue
            if ok:
                high[i] = m
            else:
                low[i] = m
    return [{n: space.cast(n, [h])[0]} for n, h in zip(names, high, strict=True)]


def _clip(value: float, bounds) -> float:
    return value if bounds is None else min(max(value, float(bounds[0])), float(bounds[1]))


def _pairs(model, original, space, goal, rng) -> list[dict]:
    """Every pair of features over a coarser grid of candidate values."""
    tries = []
    for a, b in itertools.combinations(space.vary, 2):
        values_a = [v for v in space.pair[a] if not _same(v, original[a])]
        values_b = [v for v in space.pair[b] if not _same(v, original[b])]
        tries += [{a: va, b: vb} for va in values_a for vb in values_b]
    reached = _predict_reached(model, original, tries, space, goal)
    return _sparsify(model, original, [c for c, ok in zip(tries, reached, strict=True) if ok], space, goal)


def _random(model, original, space, goal, rng) -> list[dict]:
    """Random changes of several features, then greedily reverted one feature at a time while still valid."""
    tries = []
    for _ in range(RANDOM_SAMPLES):
        count = int(rng.integers(1, len(space.vary) + 1))
        chosen = rng.choice(len(space.vary), size=count, replace=False)
        changes = {}
        for index in sorted(chosen):
            name = space.vary[index]
            values = space.single[name]
            if values:
                changes[name] = values[int(rng.integers(len(values)))]
        changes = {f: v for f, v in changes.items() if not _same(v, original[f])}
        if changes:
            tries.append(changes)
    reached = _predict_reached(model, original, tries, space, goal)
    return _sparsify(model, original, [c for c, ok in zip(tries, reached, strict=True) if ok], space, goal)


def _sparsify(model, original, active: list[dict], space: _Space, goal: _Goal) -> list[dict]:
    """Drop, round by round and in one batch per round, the change whose removal saves the most distance."""
    done = []
    while active:
        variants, owners = [], []
        for i, changes in enumerate(active):
            for name in changes if len(changes) > 1 else ():
                variants.append({f: v for f, v in changes.items() if f != name})
                owners.append(i)
        reached = _predict_reached(model, original, variants, space, goal)
        best: dict[int, tuple[float, dict]] = {}
        for owner, variant, ok in zip(owners, variants, reached, strict=True):
            saved = _total(original, active[owner], space) - _total(original, variant, space)
            if ok and (owner not in best or saved > best[owner][0]):
                best[owner] = (saved, variant)
        done += [changes for i, changes in enumerate(active) if i not in best]
        active = [best[i][1] for i in sorted(best)]
    return done


def _total(original, changes, space) -> float:
    return sum(space.distance(f, original[f], v) for f, v in changes.items())


def _same(a, b) -> bool:
    if isinstance(a, str) or isinstance(b, str):
        return a == b
    return math.isclose(float(a), float(b), rel_tol=0.0, abs_tol=1e-12)


def _describe(original: dict, changes: dict, prediction, space: _Space) -> dict:
    values = {column: changes.get(column, original[column]) for column in space.columns}
    changed = [column for column in space.columns if column in changes]
    return {
        "values": {column: _plain(value) for column, value in values.items()},
        "changed": changed,
        "prediction": _plain(prediction),
        "distance": float(_total(original, changes, space)),
    }


def _values(row: pd.DataFrame) -> dict:
    """The one row's values column by column (``iloc[0]`` would turn integers into floats next to floats)."""
    return {column: row[column].iloc[0] for column in row.columns}


def _plain(value):
    """A JSON-ready scalar: python numbers and strings, None for missing values."""
    if value is None or (isinstance(value, float | np.floating) and math.isnan(value)):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value
