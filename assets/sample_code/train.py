"""Sample training script: logistic regression on iris, logged with plain MLflow.

With ``--epochs N`` it also logs a learning curve: accuracy and log loss after N growing numbers of
solver iterations (up to ``--max-iter``), so charts and a sweep's early-termination policy have
something to follow. Iris trains in milliseconds; ``--epoch-seconds`` paces the curve so it can be
watched filling in live.
"""

import argparse
import math
import time
import warnings
from pathlib import Path

import mlflow
import pandas as pd
import sklearn
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, log_loss
from sklearn.model_selection import train_test_split

parser = argparse.ArgumentParser()
parser.add_argument("--data", required=True, help="CSV file or folder with iris.csv")
parser.add_argument("--C", type=float, default=1.0, help="inverse regularisation strength")
parser.add_argument("--max-iter", type=int, default=200, help="solver iterations")
parser.add_argument("--epochs", type=int, default=1, help="points of the learning curve to log")
parser.add_argument("--epoch-seconds", type=float, default=0.0, help="pause after each point")
parser.add_argument("--model-dir", default="outputs/model")
args = parser.parse_args()

path = Path(args.data)
frame = pd.read_csv(path / "iris.csv" if path.is_dir() else path)
X, y = frame.drop(columns="species"), frame["species"]
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0)

mlflow.log_params({"C": args.C, "max_iter": args.max_iter})
# Points of the curve before the last stop the solver early on purpose.
warnings.simplefilter("ignore", ConvergenceWarning)
epochs = max(1, args.epochs)
for epoch in range(1, epochs + 1):
    iterations = math.ceil(args.max_iter * epoch / epochs)
    model = LogisticRegression(C=args.C, max_iter=iterations).fit(X_train, y_train)
    accuracy = accuracy_score(y_test, model.predict(X_test))
    loss = log_loss(y_test, model.predict_proba(X_test), labels=model.classes_)
    mlflow.log_metrics({"accuracy": accuracy, "log_loss": loss}, step=iterations)
    print(f"iterations={iterations} accuracy={accuracy:.3f} log_loss={loss:.3f}", flush=True)
    if epoch < epochs:
        time.sleep(args.epoch_seconds)
# Naming the requirements spares MLflow inferring them (it would start a process to watch the imports).
mlflow.sklearn.save_model(
    model,
    args.model_dir,
    pip_requirements=[f"scikit-learn=={sklearn.__version__}", f"pandas=={pd.__version__}"],
)
