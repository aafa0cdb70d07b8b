"""Responsible AI: insights of a model version (fairness, error analysis, explanations, counterfactuals,
causal effects, data), cohorts carried across every view, what-if predictions, mitigation and the
scorecard and review. Deep links: ``?name=N`` opens insights, ``&cohort=C`` a saved cohort, ``&tab=Fairness``
a tab; ``?model=name:version`` lists (and prefills the form for) one model version. The views are in
``studio.ui.rai``."""

from studio.ui import widgets
from studio.ui.rai.detail import detail
from studio.ui.rai.listing import listing

widgets.list_or_detail("Responsible AI", listing, detail)
