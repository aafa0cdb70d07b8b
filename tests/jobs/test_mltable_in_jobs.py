"""Cloud training scripts read MLTable inputs with ``import mltable``: it works in a job on a curated
environment, backed by Studio's own reader (backend/runtime/mltable), inside the sandbox."""

from __future__ import annotations

import shutil

from tests.conftest import REPO
from tests.job_fixtures import log_of, submit, wait

CASE = REPO / "tests" / "fixtures" / "mltable" / "case_01_csv_basic_infer"

TRAIN = """
import argparse, json, os
import mltable

parser = argparse.ArgumentParser()
parser.add_argument("--data")
args = parser.parse_args()

# As the cloud's examples do: the input's local path ...
frame = mltable.load(args.data).to_pandas_dataframe()
print("rows", len(frame), "columns", ",".join(frame.columns))
print("dtypes", json.dumps({c: str(t) for c, t in frame.dtypes.items()}))
# ... and the data's azureml:// URI, which this job may read because it is one of its inputs.
(uri,) = json.loads(os.environ["STUDIO_JOB_INPUTS"])
again = mltable.load(uri).keep_columns(["order_id", "customer"]).take(2).to_pandas_dataframe()
print("by uri", again.to_dict("records"))
print("module", mltable.__file__)
"""


def test_a_training_script_reads_its_mltable_input_with_import_mltable(tmp_path, agent):
    shutil.copytree(CASE, tmp_path / "data")
    job = submit(
        tmp_path,
        """
        $schema: https://azuremlschemas.azureedge.net/latest/commandJob.schema.json
        code: ./src
        command: python train.py --data ${{inputs.training_data}}
        inputs:
          training_data:
            type: mltable
            path: ./data
        environment: azureml:AzureML-sklearn-1.5@latest
        """,
        {"src/train.py": TRAIN},
    )
    done = wait(job.name, timeout_s=180)
    log = log_of(job.name)
    assert done.status == "Completed", (done.failure_reason, log)
    header = (CASE / "expected.csv").read_text().splitlines()[0]
    assert f"rows 4 columns {header}" in log
    expected = (CASE / "expected_dtypes.json").read_text()
    import json

    assert json.loads(log.split("dtypes ")[1].splitlines()[0]) == json.loads(expected)
    assert "by uri [{'order_id': 1001, 'customer': 'alpha'}, {'order_id': 1002, 'customer': 'beta'}]" in log
    assert "backend/runtime/mltable" in log  # Studio's API, not a package of the environment


def test_an_azureml_uri_that_is_not_an_input_is_refused_with_the_reason(tmp_path, agent):
    job = submit(
        tmp_path,
        """
        command: >-
          python -c "import mltable; mltable.load('azureml://datastores/workspaceblobstore/paths/secret/')"
        environment: azureml:AzureML-sklearn-1.5@latest
        """,
    )
    done = wait(job.name, timeout_s=180)
    assert done.status == "Failed"
    assert "not an input of this job" in log_of(job.name)
