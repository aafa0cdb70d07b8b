"""The ``studio`` CLI's command groups, one module per area, shaped like the cloud CLI's verbs."""
