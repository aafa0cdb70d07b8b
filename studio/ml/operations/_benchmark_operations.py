"""``ml_client.benchmarks``: model benchmarks (Studio's own; the CLI's ``studio benchmark``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from studio.ml.operations._base import _Operations


class BenchmarkOperations(_Operations):
    def create(self, source: str | Path | dict[str, Any]):
        """Queue a benchmark from its YAML file or the same fields as a dict; returns its record (``name``
        is its job's: ``ml_client.jobs.stream(name)`` follows it)."""
        from backend.services import benchmarks
        from backend.specs import parse_spec
        from backend.specs.benchmark import BenchmarkSpec

        if isinstance(source, dict):
            spec = parse_spec(BenchmarkSpec, source, source="benchmark")
            return self._call(benchmarks.create_benchmark, spec=spec)
        return self._call(benchmarks.create_benchmark_from_file, path=Path(source))

    def get(self, name: str):
        from backend.services import benchmarks

        return self._call(benchmarks.get_benchmark, name=name)

    def list(self):
        from backend.services import benchmarks

        return self._call(benchmarks.list_benchmarks)

    def show(self, name: str) -> dict[str, Any]:
        """Each model's metrics (``{"value", "source"}``) and every answered item, as ``studio benchmark show``."""
        from backend.services import benchmarks

        return self._call(benchmarks.show_benchmark, name=name)
