#!/usr/bin/env python3
"""Generates src/preflight/registries.json: the ECR registry account of each AWS Deep
Learning Container and built-in algorithm repository, per region.

The data is the SageMaker Python SDK's published image URI table
(`sagemaker/image_uri_config/*.json`), read straight from the pinned wheel on PyPI
(downloaded with pip into a cache folder; nothing is installed).

    python3 tools/gen_images.py            # rewrite the committed table
    python3 tools/gen_images.py --check    # exit 1 when it differs from a fresh run
"""
import argparse
import json
import os
import sys
import zipfile

from pypi import wheel

SDK = "2.257.7"
PREFIX = "sagemaker/image_uri_config/"
HERE = os.path.dirname(os.path.abspath(__file__))
TABLE = os.path.join(HERE, "..", "src", "preflight", "registries.json")


def walk(node, repository, out):
    """Collects (repository, region, account) from every entry with registries."""
    if isinstance(node, dict):
        repository = node.get("repository", repository)
        registries = node.get("registries")
        if isinstance(registries, dict) and repository:
            for region, account in registries.items():
                out.setdefault(repository, {}).setdefault(region, set()).add(account)
        for key, value in node.items():
            if key != "registries":
                walk(value, repository, out)
    elif isinstance(node, list):
        for value in node:
            walk(value, repository, out)


# The training frameworks the builder's Essentials offer: label, config file, newest versions
# kept.
FRAMEWORKS = [
    ("PyTorch", "pytorch", 8),
    ("TensorFlow", "tensorflow", 6),
    ("scikit-learn", "sklearn", 4),
    ("Hugging Face", "huggingface", 6),
    ("XGBoost", "xgboost", 4),
]


def version_key(version):
    return [int(p) if p.isdigit() else p for p in version.replace("-", ".").split(".")]


def framework_images(z):
    """Each framework's newest training versions with their repository and the image tag
    per processor, as the SDK's image_uris.retrieve forms them."""
    out = {}
    for label, config, keep in FRAMEWORKS:
        training = json.loads(z.read(f"{PREFIX}{config}.json"))["training"]
        processors = training.get("processors", ["cpu"])
        rows = []
        for version, entry in training["versions"].items():
            if "." not in version and "-" not in version:
                continue  # an alias such as xgboost's "1"
            if config == "huggingface":
                # One entry per base framework: the newest PyTorch one.
                bases = [k for k, v in entry.items() if k.startswith("pytorch") and isinstance(v, dict)]
                if not bases:
                    continue
                base = max(bases, key=lambda b: version_key(b[len("pytorch"):]))
                inner = entry[base]
                py = inner["py_versions"][-1]
                tags = {}
                for processor in processors:
                    tag = f"{base[len('pytorch'):]}-transformers{version}-{processor}-{py}"
                    container = inner.get("container_version", {}).get(processor)
                    tags[processor] = f"{tag}-{container}" if container else tag
                rows.append({"version": version, "repository": inner["repository"], "tags": tags})
            elif config == "xgboost":
                if version_key(version) < version_key("1.0-1"):
                    continue
                rows.append({"version": version, "repository": entry["repository"],
                             "tags": {"cpu": version, "gpu": version}})
            else:
                py = entry.get("py_versions", ["py3"])[-1]
                repository = entry.get("repository") or {
                    "pytorch": "pytorch-training", "tensorflow": "tensorflow-training"}[config]
                own = entry.get("processors", processors)
                rows.append({"version": version, "repository": repository,
                             "tags": {p: f"{version}-{p}-{py}" for p in own}})
        rows.sort(key=lambda r: version_key(r["version"]), reverse=True)
        out[label] = rows[:keep]
    return out


def table(path):
    out = {}
    with zipfile.ZipFile(path) as z:
        for name in sorted(z.namelist()):
            if name.startswith(PREFIX) and name.endswith(".json"):
                walk(json.loads(z.read(name)), None, out)
        frameworks = framework_images(z)
    return {
        "source": f"sagemaker {SDK} (PyPI), {PREFIX}",
        "frameworks": frameworks,
        "repositories": {
            repo: {region: sorted(accounts) for region, accounts in sorted(regions.items())}
            for repo, regions in sorted(out.items())
        },
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--cache", default=os.path.join(HERE, "..", "target", "sagemaker-sdk"))
    args = parser.parse_args()
    text = json.dumps(table(wheel(args.cache, "sagemaker", SDK)), indent=1, sort_keys=True) + "\n"
    if args.check:
        with open(TABLE) as f:
            if f.read() != text:
                print(f"{TABLE} differs from a fresh generation: run tools/gen_images.py")
                return 1
        return 0
    with open(TABLE, "w") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
