"""Native tests of the chrony plugin: `python -m unittest` (or pytest) in this folder.

They import chrony.py with CPython, against Python bindings that
componentize-py generates for the WIT world (in a temporary folder), and call
the component's `describe` and `render` as opsmith would, with a small site.
"""

import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
import urllib.parse
from pathlib import Path

HERE = Path(__file__).resolve().parent
WIT = Path(os.environ.get("OPSMITH_WIT", HERE.parent.parent / "wit"))
BINDINGS = tempfile.TemporaryDirectory(prefix="opsmith-bindings-")


def componentize_py() -> str:
    # On PATH, or beside this Python (a virtual environment that is not activated).
    found = shutil.which("componentize-py") or shutil.which("componentize-py", path=str(Path(sys.executable).parent))
    if found is None:
        raise RuntimeError("componentize-py is not installed: pip install -r requirements.txt")
    return found


def setUpModule():
    subprocess.run(
        [componentize_py(), "-d", str(WIT), "-w", "renderer", "bindings", BINDINGS.name],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    sys.path[:0] = [BINDINGS.name, str(HERE)]
    global chrony, types, Err
    import chrony  # noqa: PLC0415 - needs the bindings on sys.path first
    from componentize_py_types import Err  # noqa: PLC0415
    from wit_world.imports import types  # noqa: PLC0415

    # Natively there is no host: collect the log lines instead.
    chrony.wit_world.log = lambda level, message: LOG.append((level, message))


def tearDownModule():
    BINDINGS.cleanup()


LOG = []

SITE = {
    "apiVersion": "opsmith.dev/v1alpha1",
    "kind": "SiteInventory",
    "metadata": {"name": "example"},
    "spec": {
        "baseDomain": "example.org",
        "ntpServers": ["192.0.2.1", "ntp.example.org"],
        "hosts": [
            {"name": "example-cp-0", "role": "control-plane"},
            {"name": "example-worker-0", "role": "worker"},
        ],
    },
}


def render(config=None, site=SITE):
    plugin = chrony.WitWorld()
    return plugin.render(
        types.RenderInput(
            component="chrony",
            site=json.dumps(site),
            catalog=json.dumps({"kind": "AppCatalog", "spec": {"components": []}}),
            config=json.dumps(config or {}),
            files=[],
        )
    )


def chrony_conf(obj) -> str:
    source = obj["spec"]["config"]["storage"]["files"][0]["contents"]["source"]
    if source.startswith("data:,"):
        return urllib.parse.unquote(source[len("data:,") :])
    prefix = "data:text/plain;charset=utf-8;base64,"
    assert source.startswith(prefix), source
    return base64.b64decode(source[len(prefix) :]).decode()


class Describe(unittest.TestCase):
    def test_names_the_plugin_and_its_kind(self):
        info = chrony.WitWorld().describe()
        self.assertEqual(info.name, "chrony")
        self.assertEqual(
            [(k.api_version, k.kind, k.namespaces) for k in info.emits],
            [("machineconfiguration.openshift.io/v1", "MachineConfig", [])],
        )

    def test_schema_is_closed_and_documented(self):
        schema = json.loads(chrony.WitWorld().describe().config_schema)
        self.assertIs(schema["additionalProperties"], False)
        for name, prop in schema["properties"].items():
            self.assertIn("description", prop, name)
            self.assertIn("default", prop, name)


class Render(unittest.TestCase):
    def test_one_machine_config_per_pool(self):
        out = render()
        objects = json.loads(out.objects)
        self.assertEqual([o["metadata"]["name"] for o in objects], ["99-master-chrony", "99-worker-chrony"])
        self.assertEqual(objects[1]["metadata"]["labels"], {"machineconfiguration.openshift.io/role": "worker"})
        file = objects[0]["spec"]["config"]["storage"]["files"][0]
        self.assertEqual((file["path"], file["mode"], file["overwrite"]), ("/etc/chrony.conf", 420, True))
        self.assertEqual(objects[0]["spec"]["config"]["ignition"]["version"], "3.2.0")
        self.assertEqual(out.diagnostics, [])
        self.assertTrue(LOG)

    def test_chrony_conf_lists_the_inventory_servers(self):
        conf = chrony_conf(json.loads(render({"options": ["maxdistance 16.0"]}).objects)[0])
        self.assertEqual(
            conf.splitlines(),
            [
                "server 192.0.2.1 iburst",
                "server ntp.example.org iburst",
                "driftfile /var/lib/chrony/drift",
                "makestep 1.0 3",
                "rtcsync",
                "logdir /var/log/chrony",
                "maxdistance 16.0",
            ],
        )

    def test_url_encoding_and_no_iburst(self):
        obj = json.loads(render({"encoding": "url", "iburst": False}).objects)[0]
        self.assertTrue(obj["spec"]["config"]["storage"]["files"][0]["contents"]["source"].startswith("data:,server%20"))
        self.assertEqual(chrony_conf(obj).splitlines()[0], "server 192.0.2.1")

    def test_roles_pick_pools_in_a_fixed_order(self):
        one = render({"roles": ["worker", "master"]}).objects
        two = render({"roles": ["master", "worker"]}).objects
        self.assertEqual(one, two)
        only = json.loads(render({"roles": ["worker"]}).objects)
        self.assertEqual([o["metadata"]["name"] for o in only], ["99-worker-chrony"])

    def test_same_input_same_bytes(self):
        self.assertEqual(render({"options": ["a 1", "b 2"]}).objects, render({"options": ["a 1", "b 2"]}).objects)

    def test_pool_without_hosts_gets_a_note(self):
        site = json.loads(json.dumps(SITE))
        site["spec"]["hosts"] = [h for h in site["spec"]["hosts"] if h["role"] != "worker"]
        out = render(site=site)
        self.assertEqual(len(out.diagnostics), 1)
        self.assertEqual(out.diagnostics[0].severity, types.Severity.INFO)
        self.assertEqual(out.diagnostics[0].pointer, "/site/spec/hosts")

    def test_no_ntp_servers_is_an_error_at_the_inventory(self):
        site = json.loads(json.dumps(SITE))
        site["spec"]["ntpServers"] = []
        with self.assertRaises(Err) as caught:
            render(site=site)
        self.assertEqual(caught.exception.value.pointer, "/site/spec/ntpServers")

    def test_multi_line_option_is_an_error_at_the_option(self):
        with self.assertRaises(Err) as caught:
            render({"options": ["ok", "bad\nline"]})
        self.assertEqual(caught.exception.value.pointer, "/config/options/1")


if __name__ == "__main__":
    unittest.main()
