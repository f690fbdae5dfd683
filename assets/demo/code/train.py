#!/usr/bin/env python3
"""SageDesk demo: a small neural network that learns to separate two half-moons.

Written for the SageMaker training-container contract and the Python standard library
only: it reads its channels from SM_CHANNEL_TRAIN / SM_CHANNEL_VALIDATION, takes its
hyperparameters as --arguments, prints one metrics line per epoch and saves the model
to SM_MODEL_DIR. On SIGTERM (Stop, or MaxRuntimeInSeconds) it saves what it has.
"""
import argparse
import csv
import glob
import json
import math
import os
import random
import signal
import sys
import time
import traceback

stop_requested = False


def on_sigterm(signum, frame):
    global stop_requested
    stop_requested = True
    print("SIGTERM received: saving the model and leaving", flush=True)


def load(channel_dir):
    rows = []
    for path in sorted(glob.glob(os.path.join(channel_dir, "*.csv"))):
        with open(path, newline="") as f:
            for row in csv.DictReader(f):
                rows.append(([float(row["x1"]), float(row["x2"])], int(row["label"])))
    if not rows:
        raise ValueError(f"no CSV rows found in {channel_dir}")
    return rows


class Network:
    """One hidden tanh layer, a sigmoid output, binary cross-entropy."""

    def __init__(self, inputs, hidden, rng):
        scale = 1.0 / math.sqrt(inputs)
        self.w1 = [[rng.gauss(0, scale) for _ in range(inputs)] for _ in range(hidden)]
        self.b1 = [0.0] * hidden
        self.w2 = [rng.gauss(0, 1.0 / math.sqrt(hidden)) for _ in range(hidden)]
        self.b2 = 0.0

    def forward(self, x):
        h = [math.tanh(sum(w * xi for w, xi in zip(ws, x)) + b) for ws, b in zip(self.w1, self.b1)]
        z = sum(w * hi for w, hi in zip(self.w2, h)) + self.b2
        p = 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))
        return h, p

    def step(self, batch, lr):
        hidden = len(self.b1)
        g_w1 = [[0.0] * len(self.w1[0]) for _ in range(hidden)]
        g_b1 = [0.0] * hidden
        g_w2 = [0.0] * hidden
        g_b2 = 0.0
        for x, y in batch:
            h, p = self.forward(x)
            dz = p - y
            g_b2 += dz
            for j in range(hidden):
                g_w2[j] += dz * h[j]
                dh = dz * self.w2[j] * (1.0 - h[j] * h[j])
                g_b1[j] += dh
                for i, xi in enumerate(x):
                    g_w1[j][i] += dh * xi
        n = len(batch)
        for j in range(hidden):
            self.w2[j] -= lr * g_w2[j] / n
            self.b1[j] -= lr * g_b1[j] / n
            for i in range(len(self.w1[j])):
                self.w1[j][i] -= lr * g_w1[j][i] / n
        self.b2 -= lr * g_b2 / n

    def evaluate(self, rows):
        loss, correct = 0.0, 0
        for x, y in rows:
            _, p = self.forward(x)
            p = min(max(p, 1e-7), 1 - 1e-7)
            loss -= y * math.log(p) + (1 - y) * math.log(1 - p)
            correct += int((p >= 0.5) == bool(y))
        return loss / len(rows), correct / len(rows)

    def to_dict(self):
        return {"w1": self.w1, "b1": self.b1, "w2": self.w2, "b2": self.b2}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--hidden_units", type=int, default=16)
    parser.add_argument("--learning_rate", type=float, default=0.5)
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--model-dir", default=os.environ.get("SM_MODEL_DIR", "model"))
    parser.add_argument("--train", default=os.environ.get("SM_CHANNEL_TRAIN", "data/train"))
    parser.add_argument("--validation", default=os.environ.get("SM_CHANNEL_VALIDATION"))
    # Hyperparameters it does not read (a tuning job adds _tuning_objective_metric) pass.
    args, _ = parser.parse_known_args()

    signal.signal(signal.SIGTERM, on_sigterm)
    rng = random.Random(args.seed)
    train = load(args.train)
    validation = load(args.validation) if args.validation else []
    print(f"host={os.environ.get('SM_CURRENT_HOST', 'local')} train_rows={len(train)} "
          f"validation_rows={len(validation)} args={vars(args)}", flush=True)

    net = Network(2, args.hidden_units, rng)
    started = time.time()
    history = []
    for epoch in range(1, args.epochs + 1):
        rng.shuffle(train)
        for start in range(0, len(train), args.batch_size):
            net.step(train[start:start + args.batch_size], args.learning_rate)
            if stop_requested:
                break
        train_loss, train_acc = net.evaluate(train)
        line = f"epoch={epoch} train_loss={train_loss:.5f} train_accuracy={train_acc:.4f}"
        record = {"epoch": epoch, "train_loss": train_loss, "train_accuracy": train_acc}
        if validation:
            val_loss, val_acc = net.evaluate(validation)
            line += f" validation_loss={val_loss:.5f} validation_accuracy={val_acc:.4f}"
            record.update(validation_loss=val_loss, validation_accuracy=val_acc)
        print(line, flush=True)
        history.append(record)
        if stop_requested:
            break

    os.makedirs(args.model_dir, exist_ok=True)
    with open(os.path.join(args.model_dir, "model.json"), "w") as f:
        json.dump({"network": net.to_dict(), "epochs_run": len(history)}, f)
    output_dir = os.environ.get("SM_OUTPUT_DATA_DIR")
    if output_dir:
        os.makedirs(output_dir, exist_ok=True)
        with open(os.path.join(output_dir, "history.json"), "w") as f:
            json.dump(history, f, indent=1)
    print(f"saved model after {len(history)} epochs in {time.time() - started:.1f}s", flush=True)


if __name__ == "__main__":
    try:
        main()
    except Exception:
        trace = traceback.format_exc()
        print(trace, file=sys.stderr, flush=True)
        failure = os.path.join(os.environ.get("SAGEMAKER_BASE_DIR", "/opt/ml"), "output", "failure")
        try:
            with open(failure, "w") as f:
                f.write("ExecuteUserScriptError:\n" + trace.strip().splitlines()[-1])
        except OSError:
            pass
        sys.exit(1)
