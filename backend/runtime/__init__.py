"""Modules that job interpreters import by name.

This folder (not the ``backend`` package) is put on every job interpreter's ``sys.path``, at the
lowest precedence: ``import mltable`` in a training script gets ``backend/runtime/mltable`` unless
the job installs Microsoft's package. Nothing here may import ``backend`` or ``studio``: jobs run
in their own environments, without Studio's packages.
"""
