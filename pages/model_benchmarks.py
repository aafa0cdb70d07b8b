"""Model benchmarks: language models (connections) answering a dataset, scored by computed metrics and a
judge, side by side. Deep links: ``?name=N`` opens a benchmark, ``&tab=Charts`` a tab. The views are in
``studio.ui.benchmarks``."""

from studio.ui import widgets
from studio.ui.benchmarks.detail import detail
from studio.ui.benchmarks.listing import listing

widgets.list_or_detail("Model benchmarks", listing, detail)
