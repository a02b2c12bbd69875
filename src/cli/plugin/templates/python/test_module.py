"""Tests of {{name}}, run natively: `python -m unittest` in this folder.

They import {{module}}.py with CPython against bindings that componentize-py
generates from wit/ (into a temporary folder) and call `describe` and
`render` as opsmith would.
"""

import json
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
BINDINGS = tempfile.TemporaryDirectory(prefix="opsmith-bindings-")
LOG = []


def setUpModule():
    # On PATH, or beside this Python (a virtual environment that is not activated).
    tool = shutil.which("componentize-py") or shutil.which("componentize-py", path=str(Path(sys.executable).parent))
    if tool is None:
        raise RuntimeError("componentize-py is not installed: pip install -r requirements.txt")
    subprocess.run(
        [tool, "-d", str(HERE / "wit"), "-w", "renderer", "bindings", BINDINGS.name],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    sys.path[:0] = [BINDINGS.name, str(HERE)]
    global plugin, types, Err
    import {{module}} as plugin  # noqa: PLC0415 - needs the bindings on sys.path first
    from componentize_py_types import Err  # noqa: PLC0415
    from wit_world.imports import types  # noqa: PLC0415

    # Natively there is no opsmith: keep the log lines.
    plugin.wit_world.log = lambda level, message: LOG.append(message)


def tearDownModule():
    BINDINGS.cleanup()


SITE = {
    "apiVersion": "opsmith.dev/v1alpha1",
    "kind": "SiteInventory",
    "metadata": {"name": "example"},
    "spec": {
        "baseDomain": "example.org",
        "hosts": [
            {"name": "example-cp-0", "role": "control-plane"},
            {"name": "example-worker-0", "role": "worker"},
        ],
    },
}


def render(config):
    return plugin.WitWorld().render(
        types.RenderInput(
            component="example",
            site=json.dumps(SITE),
            catalog=json.dumps({"kind": "AppCatalog", "spec": {"components": []}}),
            config=json.dumps(config),
            files=[],
        )
    )


class Test(unittest.TestCase):
    def test_describe(self):
        info = plugin.WitWorld().describe()
        self.assertEqual(info.name, "{{name}}")
        self.assertIs(json.loads(info.config_schema)["additionalProperties"], False)

    def test_summarises_the_example_site(self):
        objects = json.loads(render({}).objects)
        self.assertEqual(len(objects), 1)
        self.assertEqual(objects[0]["metadata"], {"name": "example-summary", "namespace": "default"})
        self.assertEqual(objects[0]["data"], {"cluster": "example.example.org", "hosts": "2", "controlPlane": "1"})

    def test_same_input_same_bytes(self):
        self.assertEqual(render({"namespace": "x"}).objects, render({"namespace": "x"}).objects)

    def test_rejects_unknown_config(self):
        with self.assertRaises(Err) as caught:
            render({"nope": 1})
        self.assertEqual(caught.exception.value.pointer, "/config/nope")


if __name__ == "__main__":
    unittest.main()
