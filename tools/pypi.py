"""The pinned wheel of a PyPI package, downloaded with pip into a cache folder (nothing is
installed); shared by the table generators."""
import glob
import os
import subprocess
import sys


def wheel(cache, package, version):
    """The path of `package==version`'s wheel in `cache`, downloaded on first use."""
    pattern = os.path.join(cache, f"{package}-{version}-*.whl")
    found = glob.glob(pattern)
    if not found:
        os.makedirs(cache, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
             "--only-binary=:all:", "-d", cache, f"{package}=={version}"],
            check=True,
        )
        found = glob.glob(pattern)
    return found[0]
