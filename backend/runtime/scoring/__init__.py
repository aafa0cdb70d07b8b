"""The scoring server of an online deployment instance (SPEC.md section 12).

    python -m backend.runtime.scoring --port P --model-dir D [--code DIR --scoring-script score.py]
                                      [--max-batch 64] [--batch-window-ms 2] [--host 127.0.0.1]

It runs inside the deployment's own venv, so it imports only the standard library and itself, plus
mlflow and pandas when it serves an ``mlflow_model`` (imported in ``init``, not at start-up), and stays
within Python 3.8's language (a conda file may pin an older interpreter).

``--model-dir`` is the model's own folder (or file) as registered. ``AZUREML_MODEL_DIR`` is set as the
cloud sets it: to the folder that *contains* the model folder. The cloud lays a registered model out as
``<root>/<model-name>/<version>/<model folder>``, so the endpoint supervisor should bind the model there
and pass the innermost path: a script then finds its files at
``os.path.join(os.environ["AZUREML_MODEL_DIR"], "<model folder>/model.pkl")`` as in the cloud.

- With a scoring script: ``init()`` once per process (in a thread: ``GET /health`` answers 503 until it
  returns), then ``run(raw_data)`` per request with the body as a ``str``, one call at a time; its return
  value is sent as JSON. An exception is a 500 with its text; the process goes on.
- Without a script, ``--model-dir`` (or its only child) must hold an ``MLmodel``: it is loaded with
  ``mlflow.pyfunc.load_model`` and accepts the request bodies in ``mlflow_input`` (400 otherwise);
  the answer is the predictions as a JSON list. Concurrent requests are micro-batched: stacked into one
  frame of up to ``--max-batch`` rows and predicted in one call (waiting at most ``--batch-window-ms``
  for the other open connections' requests), then split back.

HTTP/1.1 with keep-alive: ``GET /health`` (200 once ``init()`` returned, 503 before), ``POST /score``.
Errors are ``{"error": "..."}`` with 400, 404, 405, 500 or 503. On start it prints
``{"event": "listening", "port": N}`` then ``{"event": "ready", "port": N}`` on stdout (``--port 0``
picks a free port); a failing ``init()`` ends the process with status 1. SIGTERM stops it.
"""
