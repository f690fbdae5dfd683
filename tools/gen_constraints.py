#!/usr/bin/env python3
"""Generates src/request/constraints.json from the official SageMaker service model.

The model is botocore's `sagemaker/2017-07-24/service-2.json`, read straight from the
pinned botocore wheel on PyPI (downloaded with pip into a cache folder; nothing is
installed). The table covers every shape reachable from CreateTrainingJobRequest and
CreateHyperParameterTuningJobRequest: type, required members, min/max (length, value or
entry count), pattern and enum values.

    python3 tools/gen_constraints.py            # rewrite the committed table
    python3 tools/gen_constraints.py --check    # exit 1 when it differs from a fresh run
"""
import argparse
import gzip
import json
import os
import sys
import zipfile

from pypi import wheel

BOTOCORE = "1.44.5"
MODEL = "botocore/data/sagemaker/2017-07-24/service-2.json"
ROOT = "CreateTrainingJobRequest"
TUNING_ROOT = "CreateHyperParameterTuningJobRequest"
HERE = os.path.dirname(os.path.abspath(__file__))
TABLE = os.path.join(HERE, "..", "src", "request", "constraints.json")
KEEP = ("type", "min", "max", "pattern", "enum", "required")


def load_model(path):
    with zipfile.ZipFile(path) as z:
        names = set(z.namelist())
        if MODEL in names:
            return json.loads(z.read(MODEL))
        return json.loads(gzip.decompress(z.read(MODEL + ".gz")))


def table(model):
    shapes = model["shapes"]
    out = {}

    def visit(name):
        if name in out:
            return
        shape = shapes[name]
        entry = {k: shape[k] for k in KEEP if k in shape}
        out[name] = entry
        kind = shape["type"]
        if kind == "structure":
            entry["members"] = {m: s["shape"] for m, s in shape["members"].items()}
            for m, s in shape["members"].items():
                visit(s["shape"])
        elif kind == "list":
            entry["member"] = shape["member"]["shape"]
            visit(entry["member"])
        elif kind == "map":
            entry["key"] = shape["key"]["shape"]
            entry["value"] = shape["value"]["shape"]
            visit(entry["key"])
            visit(entry["value"])

    visit(ROOT)
    visit(TUNING_ROOT)
    return {
        "source": f"botocore {BOTOCORE} {MODEL}",
        "apiVersion": model["metadata"]["apiVersion"],
        "root": ROOT,
        "tuning_root": TUNING_ROOT,
        "shapes": out,
    }


def render(data):
    return json.dumps(data, indent=1, sort_keys=True) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    parser.add_argument("--cache", default=os.path.join(HERE, "..", "target", "botocore"),
                        help="folder for the downloaded wheel")
    parser.add_argument("--output", default=TABLE)
    args = parser.parse_args()
    fresh = render(table(load_model(wheel(args.cache, "botocore", BOTOCORE))))
    if args.check:
        with open(args.output) as f:
            committed = f.read()
        if committed != fresh:
            print(f"{args.output} differs from a fresh generation from botocore {BOTOCORE}; "
                  "run python3 tools/gen_constraints.py", file=sys.stderr)
            return 1
        print(f"{args.output} matches botocore {BOTOCORE}")
        return 0
    with open(args.output, "w") as f:
        f.write(fresh)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
