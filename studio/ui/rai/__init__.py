"""Responsible AI views: insights, cohorts, fairness, errors, explanations, mitigation, scorecard."""
