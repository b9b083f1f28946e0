"""A PEP 517 build backend written with the standard library only.

pip builds `scaleboard` with this module (pyproject.toml's backend-path), so installing it needs no
setuptools or wheel from a package index: `pip install ./clients/python` and
`pip install http://HOST:3000/api/v1/sdk/python/scaleboard-<version>.tar.gz` work offline.
"""

import base64
import hashlib
import io
import os
import re
import tarfile
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NAME = "scaleboard"
# Fixed timestamps keep the archives reproducible (zip cannot store dates before 1980).
ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def _version():
    with open(os.path.join(ROOT, NAME, "_version.py"), encoding="utf-8") as source:
        match = re.search(r'__version__\s*=\s*"([^"]+)"', source.read())
    if not match:
        raise RuntimeError("scaleboard/_version.py has no __version__")
    return match.group(1)


def _metadata():
    readme_path = os.path.join(ROOT, "README.md")
    readme = ""
    if os.path.exists(readme_path):
        with open(readme_path, encoding="utf-8") as source:
            readme = source.read()
    return (
        "Metadata-Version: 2.1\n"
        "Name: %s\n"
        "Version: %s\n"
        "Summary: Log training runs to Scaleboard (standard library only; a wandb-compatible subset)\n"
        "Requires-Python: >=3.9\n"
        "Description-Content-Type: text/markdown\n"
        "\n%s" % (NAME, _version(), readme)
    )


def _package_files():
    """(path in the archive, bytes) for every module of the package; no caches, no tests."""
    found = []
    for folder, subfolders, files in os.walk(os.path.join(ROOT, NAME)):
        subfolders[:] = sorted(name for name in subfolders if name != "__pycache__")
        for name in sorted(files):
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                with open(path, "rb") as source:
                    found.append((os.path.relpath(path, ROOT).replace(os.sep, "/"), source.read()))
    return found


def _dist_info():
    return "%s-%s.dist-info" % (NAME, _version())


def _wheel_text():
    return "Wheel-Version: 1.0\nGenerator: scaleboard_build\nRoot-Is-Purelib: true\nTag: py3-none-any\n"


def _write_wheel(wheel_directory, files):
    dist_info = _dist_info()
    files = files + [
        (dist_info + "/METADATA", _metadata().encode("utf-8")),
        (dist_info + "/WHEEL", _wheel_text().encode("utf-8")),
    ]
    record = io.StringIO()
    for path, data in files:
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode("ascii")
        record.write("%s,sha256=%s,%d\n" % (path, digest, len(data)))
    record.write("%s/RECORD,,\n" % dist_info)
    files.append((dist_info + "/RECORD", record.getvalue().encode("utf-8")))
    name = "%s-%s-py3-none-any.whl" % (NAME, _version())
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w", zipfile.ZIP_DEFLATED) as wheel:
        for path, data in files:
            info = zipfile.ZipInfo(path, ZIP_DATE)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            wheel.writestr(info, data)
    return name


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def get_requires_for_build_editable(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    folder = os.path.join(metadata_directory, _dist_info())
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "METADATA"), "w", encoding="utf-8") as target:
        target.write(_metadata())
    with open(os.path.join(folder, "WHEEL"), "w", encoding="utf-8") as target:
        target.write(_wheel_text())
    return _dist_info()


prepare_metadata_for_build_editable = prepare_metadata_for_build_wheel


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    return _write_wheel(wheel_directory, _package_files())


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    # An editable install is a .pth file naming this folder: edits to the sources take effect at once.
    return _write_wheel(wheel_directory, [("scaleboard_editable.pth", (ROOT + "\n").encode("utf-8"))])


def build_sdist(sdist_directory, config_settings=None):
    prefix = "%s-%s" % (NAME, _version())
    members = [("PKG-INFO", _metadata().encode("utf-8"))]
    for relative in ("pyproject.toml", "README.md", "_build/scaleboard_build.py"):
        path = os.path.join(ROOT, relative)
        if os.path.exists(path):
            with open(path, "rb") as source:
                members.append((relative, source.read()))
    members += _package_files()
    name = prefix + ".tar.gz"
    with tarfile.open(os.path.join(sdist_directory, name), "w:gz", format=tarfile.PAX_FORMAT) as archive:
        for path, data in members:
            info = tarfile.TarInfo("%s/%s" % (prefix, path))
            info.size = len(data)
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(data))
    return name
