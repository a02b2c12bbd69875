"""`{{name}}`: an opsmith plugin in Python.

It renders one ConfigMap that summarises the site; change `render` to make it
yours. componentize-py turns this module into a WebAssembly component for the
WIT world `renderer` in wit/plugin.wit (see README.md).
"""

import json

import wit_world
from componentize_py_types import Err
from wit_world.imports.types import (
    AllowedKind,
    PluginInfo,
    RenderError,
    RenderInput,
    RenderOutput,
    Severity,
)

CONFIG_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "namespace": {
            "type": "string",
            "description": "Namespace of the ConfigMap.",
            "default": "default",
        }
    },
}


class WitWorld(wit_world.WitWorld):
    def describe(self) -> PluginInfo:
        return PluginInfo(
            name="{{name}}",
            version="0.1.0",
            description="A ConfigMap summarising the site",
            config_schema=json.dumps(CONFIG_SCHEMA),
            # opsmith refuses any object of a kind not declared here.
            emits=[AllowedKind(api_version="v1", kind="ConfigMap", namespaces=["*"])],
        )

    def render(self, input: RenderInput) -> RenderOutput:
        site = json.loads(input.site)
        config = json.loads(input.config)
        for key in sorted(config):
            if key not in CONFIG_SCHEMA["properties"]:
                # An error points into the input: opsmith shows catalog.yaml:LINE.
                raise Err(RenderError(message=f"unknown option `{key}`", pointer=f"/config/{key}", location=None))
        hosts = site["spec"]["hosts"]
        control_plane = [h for h in hosts if h["role"] == "control-plane"]
        summary = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": f"{input.component}-summary",
                "namespace": config.get("namespace", "default"),
            },
            "data": {
                "cluster": f"{site['metadata']['name']}.{site['spec']['baseDomain']}",
                "hosts": str(len(hosts)),
                "controlPlane": str(len(control_plane)),
            },
        }
        wit_world.log(Severity.INFO, f"summarised {len(hosts)} hosts")  # shown with `opsmith --verbose`
        # Same input, same bytes: sort keys, and use no clock or randomness.
        return RenderOutput(objects=json.dumps([summary], sort_keys=True), files=[], diagnostics=[])
