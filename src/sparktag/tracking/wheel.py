"""A wheel of the running sparktag, saved inside an MLflow model so the model's environment can be rebuilt from it.

sparktag is not on a package index, so ``sparktag==0.1.0`` in a model's ``requirements.txt`` installs nowhere.
:func:`sparktag.mlflow.save_model <sparktag.tracking.flavor.save_model>` therefore writes the sparktag it runs
as a wheel into the model (``wheels/``, the folder MLflow's own "wheeled models" use) and lists it in
``requirements.txt`` by its model-relative path; MLflow installs requirements from inside the model folder, so
``mlflow models serve`` with its default (virtualenv) environment manager installs that wheel, and pip pulls
sparktag's dependencies from its metadata.

The wheel is made from the installed package's own files (editable installs included) and metadata, with no
build tool: a wheel is a zip of the package plus a ``.dist-info`` folder. Its bytes depend only on those files, and
a build tag holding their hash gives changed code a new file name, so MLflow (which names its cached
environments after the requirement lines) never reuses an environment built for other code of the same version.
"""

from __future__ import annotations

import base64
import hashlib
import os
import zipfile
from pathlib import Path

#: the model's folder of wheels, as in ``mlflow.models.wheeled_model``
WHEELS_DIR = "wheels"
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest a zip can hold: the same files give the same bytes


def write_sparktag_wheel(dest_dir: str | os.PathLike[str]) -> str:
    """Write a wheel of the sparktag this process runs into ``dest_dir``.

    Args:
        dest_dir: a folder (created if missing), usually ``<model>/wheels``.

    Returns:
        The wheel's file name, e.g. ``sparktag-0.1.0-0f3a9c2d41be-py3-none-any.whl``.
    """
    import sparktag

    package = Path(sparktag.__file__).resolve().parent
    files = {
        f"sparktag/{p.relative_to(package).as_posix()}": p.read_bytes()
        for p in sorted(package.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts and p.suffix not in (".pyc", ".pyo")
    }
    version = sparktag.__version__
    metadata, entry_points = _metadata(version)
    digest = hashlib.sha256()
    for name, data in sorted(
        {**files, "METADATA": metadata.encode(), "entry_points": entry_points.encode()}.items()
    ):
        digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    build = "0" + digest.hexdigest()[:12]  # a build tag must start with a digit
    dist_info = f"sparktag-{version}.dist-info"
    files[f"{dist_info}/METADATA"] = metadata.encode()
    files[f"{dist_info}/WHEEL"] = (
        f"Wheel-Version: 1.0\nGenerator: sparktag.tracking.wheel\nRoot-Is-Purelib: true\n"
        f"Tag: py3-none-any\nBuild: {build}\n"
    ).encode()
    if entry_points:
        files[f"{dist_info}/entry_points.txt"] = entry_points.encode()
    record = [f"{name},sha256={_b64_sha256(data)},{len(data)}" for name, data in files.items()]
    files[f"{dist_info}/RECORD"] = ("\n".join([*record, f"{dist_info}/RECORD,,"]) + "\n").encode()

    name = f"sparktag-{version}-{build}-py3-none-any.whl"
    dest = Path(dest_dir)
    dest.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(dest / name, "w", compression=zipfile.ZIP_DEFLATED) as wheel:
        for arcname, data in files.items():
            info = zipfile.ZipInfo(arcname, date_time=_ZIP_DATE)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            wheel.writestr(info, data)
    return name


def _metadata(version: str) -> tuple[str, str]:
    """(METADATA, entry_points.txt) of the installed sparktag distribution.

    Running from a source folder that was never installed there is no metadata: the wheel then names only
    sparktag and its version, and its dependencies must come from the model's other requirements.
    """
    from importlib import metadata

    try:
        dist = metadata.distribution("sparktag")
    except metadata.PackageNotFoundError:
        dist = None
    if dist is None or dist.version != version:
        return f"Metadata-Version: 2.1\nName: sparktag\nVersion: {version}\n", ""
    return dist.read_text("METADATA") or "", dist.read_text("entry_points.txt") or ""


def _b64_sha256(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
