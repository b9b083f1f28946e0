"""pip installs the package from the source folder and from the server's own URL, with no package index."""

import os
import shutil
import subprocess
import sys
import tempfile
import unittest
import urllib.request

from support import API_URL, needs_server, unique

SOURCE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SMOKE = '''
import scaleboard, sys
print(scaleboard.__file__)
with scaleboard.init(project=sys.argv[1], experiment="installed", system_metrics=False) as run:
    for step in range(10):
        run.log({"loss": 1.0 / (step + 1)}, step=step)
api = scaleboard.Api()
assert [p["step"] for p in api.points(run.id, "loss")] == list(range(10))
assert api.run(run.id)["status"] == "succeeded"
print("ok", run.id)
'''


def interpreters():
    """This Python, and the oldest supported one (3.9) when the machine has it."""
    found = [sys.executable]
    for candidate in (os.path.expanduser("~/.pyenv/versions/3.9.18/bin/python3"), "/usr/bin/python3.9", "python3.9"):
        path = candidate if os.path.isabs(candidate) else shutil.which(candidate)
        if not path or not os.path.exists(path):
            continue
        probe = subprocess.run([path, "-c", "import sys, venv; print(sys.version_info[:2])"], capture_output=True, text=True)
        if probe.returncode == 0 and probe.stdout.strip() == "(3, 9)":
            found.append(path)
            break
    return found


class InstallTest(unittest.TestCase):
    def setUp(self):
        self.folder = tempfile.mkdtemp(prefix="scaleboard-venv-")

    def tearDown(self):
        shutil.rmtree(self.folder, ignore_errors=True)

    def venv(self, python, name):
        target = os.path.join(self.folder, name)
        subprocess.run([python, "-m", "venv", target], check=True, capture_output=True, timeout=300)
        return os.path.join(target, "bin", "python")

    def pip_install(self, venv_python, source):
        done = subprocess.run(
            [venv_python, "-m", "pip", "install", "--no-index", "--disable-pip-version-check", source],
            capture_output=True,
            text=True,
            timeout=300,
            env=dict(os.environ, PIP_NO_INPUT="1"),
        )
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)

    def smoke(self, venv_python):
        environment = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        done = subprocess.run(
            [venv_python, "-c", SMOKE, unique("py-install")], capture_output=True, text=True, timeout=120, cwd=self.folder, env=environment
        )
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        self.assertIn("site-packages", done.stdout.splitlines()[0], "the installed copy was used")

    def test_pip_installs_the_source_folder_without_a_package_index(self):
        python = self.venv(sys.executable, "from-source")
        self.pip_install(python, SOURCE_DIR)
        done = subprocess.run([python, "-m", "scaleboard", "--version"], capture_output=True, text=True, cwd=self.folder)
        self.assertEqual(done.returncode, 0, done.stderr)

    @needs_server
    def test_pip_installs_the_servers_tarball_and_it_logs(self):
        origin = API_URL[: API_URL.index("/api/v1")]
        with urllib.request.urlopen(origin + "/api/v1/sdk/python") as response:
            served = response.geturl()  # after the redirect to scaleboard-<version>.tar.gz
            self.assertEqual(response.headers["Content-Type"], "application/gzip")
        self.assertRegex(served, r"/api/v1/sdk/python/scaleboard-[0-9.]+\.tar\.gz$")
        for index, python in enumerate(interpreters()):
            with self.subTest(python=python):
                venv_python = self.venv(python, "served-%d" % index)
                self.pip_install(venv_python, served)
                self.smoke(venv_python)


if __name__ == "__main__":
    unittest.main()
