"""Sample training script: logistic regression on iris, logged with plain MLflow."""

import argparse
from pathlib import Path

import mlflow
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split

parser = argparse.ArgumentParser()
parser.add_argument("--data", required=True, help="CSV file or folder with iris.csv")
parser.add_argument("--C", type=float, default=1.0)
parser.add_argument("--max-iter", type=int, default=200)
parser.add_argument("--model-dir", default="outputs/model")
args = parser.parse_args()

path = Path(args.data)
frame = pd.read_csv(path / "iris.csv" if path.is_dir() else path)
X, y = frame.drop(columns="species"), frame["species"]
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0)

mlflow.log_params({"C": args.C, "max_iter": args.max_iter})
model = LogisticRegression(C=args.C, max_iter=args.max_iter).fit(X_train, y_train)
accuracy = accuracy_score(y_test, model.predict(X_test))
mlflow.log_metric("accuracy", accuracy)
print(f"accuracy={accuracy:.3f}")
mlflow.sklearn.save_model(model, args.model_dir)
