"""`chrony`: an opsmith plugin in Python.

It renders one MachineConfig per machine-config pool (`master`, `worker`)
that writes /etc/chrony.conf on every node of the pool, pointing chronyd at the
NTP servers of the site inventory (`spec.ntpServers`). This is what the
OpenShift documentation asks for ("Configuring chrony time service"), written
by hand there with Butane.

The MachineConfig operator rolls the change out node by node (each node
reboots), so the rendered bytes must only change when the input does: the
plugin sorts what it can and draws on no clock or randomness.

Build (see README.md): componentize-py -d ../../wit -w renderer componentize chrony -o chrony.wasm
"""

import base64
import json
import urllib.parse

import wit_world
from componentize_py_types import Err
from wit_world.imports.types import (
    AllowedKind,
    Diagnostic,
    PluginInfo,
    RenderError,
    RenderInput,
    RenderOutput,
    Severity,
)

NAME = "chrony"
VERSION = "0.1.0"

# Machine-config pools, and the inventory role whose hosts each one covers.
POOLS = {"master": "control-plane", "worker": "worker"}

# Ignition spec version MachineConfigs carry on OpenShift 4.x.
IGNITION_VERSION = "3.2.0"

# chrony.conf lines after the servers, as in the OpenShift documentation.
BASE_DIRECTIVES = [
    "driftfile /var/lib/chrony/drift",
    "makestep 1.0 3",
    "rtcsync",
    "logdir /var/log/chrony",
]

CONFIG_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "roles": {
            "description": "Machine-config pools that get the MachineConfig.",
            "type": "array",
            "items": {"enum": sorted(POOLS)},
            "uniqueItems": True,
            "default": ["master", "worker"],
        },
        "iburst": {
            "description": "Add `iburst` to each server line: a faster first synchronisation.",
            "type": "boolean",
            "default": True,
        },
        "options": {
            "description": "Extra chrony.conf directives, one per item, appended as given (e.g. `maxdistance 16.0`).",
            "type": "array",
            "items": {"type": "string", "minLength": 1, "pattern": "^[^\\r\\n]+$"},
            "default": [],
        },
        "encoding": {
            "description": "How chrony.conf is embedded in the Ignition data URL: `base64` or `url` (percent-encoded).",
            "enum": ["base64", "url"],
            "default": "base64",
        },
    },
}

DEFAULTS = {name: prop["default"] for name, prop in CONFIG_SCHEMA["properties"].items()}


def fail(pointer: str, message: str) -> Err:
    """The WIT `render-error`, raised as componentize-py's `Err`."""
    return Err(RenderError(message=message, pointer=pointer, location=None))


def chrony_conf(servers: list, iburst: bool, options: list) -> str:
    suffix = " iburst" if iburst else ""
    lines = [f"server {server}{suffix}" for server in servers]
    lines += BASE_DIRECTIVES
    lines += options
    return "\n".join(lines) + "\n"


def data_url(text: str, encoding: str) -> str:
    if encoding == "url":
        return "data:," + urllib.parse.quote(text, safe="")
    b64 = base64.b64encode(text.encode("utf-8")).decode("ascii")
    return "data:text/plain;charset=utf-8;base64," + b64


def machine_config(pool: str, source: str) -> dict:
    return {
        "apiVersion": "machineconfiguration.openshift.io/v1",
        "kind": "MachineConfig",
        "metadata": {
            "name": f"99-{pool}-chrony",
            "labels": {"machineconfiguration.openshift.io/role": pool},
        },
        "spec": {
            "config": {
                "ignition": {"version": IGNITION_VERSION},
                "storage": {
                    "files": [
                        {
                            "path": "/etc/chrony.conf",
                            "mode": 0o644,
                            "overwrite": True,
                            "contents": {"source": source},
                        }
                    ]
                },
            }
        },
    }


def render_objects(site: dict, config: dict):
    """The plugin's logic on plain JSON values: (objects, diagnostics)."""
    unknown = sorted(set(config) - set(DEFAULTS))
    if unknown:
        raise fail(f"/config/{unknown[0]}", f"unknown option `{unknown[0]}`")
    settings = {**DEFAULTS, **config}
    spec = site.get("spec", {})
    servers = spec.get("ntpServers") or []
    if not servers:
        raise fail(
            "/site/spec/ntpServers" if "ntpServers" in spec else "/site/spec",
            "the inventory lists no ntpServers: add spec.ntpServers or drop this component",
        )
    for index, option in enumerate(settings["options"]):
        if not option.strip() or "\n" in option or "\r" in option:
            raise fail(f"/config/options/{index}", "each option must be one non-empty line")

    source = data_url(
        chrony_conf(servers, settings["iburst"], settings["options"]), settings["encoding"]
    )
    roles = [host.get("role") for host in spec.get("hosts", [])]
    objects, diagnostics = [], []
    # Sorted, so the order of `roles` in the catalog does not change the output.
    for pool in sorted(set(settings["roles"])):
        objects.append(machine_config(pool, source))
        if POOLS[pool] not in roles:
            diagnostics.append(
                Diagnostic(
                    severity=Severity.INFO,
                    message=f"no host has role {POOLS[pool]}: the {pool} pool's MachineConfig waits for one",
                    pointer="/site/spec/hosts",
                    location=None,
                )
            )
    return objects, diagnostics


class WitWorld(wit_world.WitWorld):
    """The component's exports: componentize-py calls these."""

    def describe(self) -> PluginInfo:
        return PluginInfo(
            name=NAME,
            version=VERSION,
            description="chrony MachineConfigs pointing every node at the inventory's NTP servers",
            config_schema=json.dumps(CONFIG_SCHEMA, sort_keys=True),
            emits=[
                AllowedKind(
                    api_version="machineconfiguration.openshift.io/v1",
                    kind="MachineConfig",
                    namespaces=[],
                )
            ],
        )

    def render(self, input: RenderInput) -> RenderOutput:
        try:
            site = json.loads(input.site)
            config = json.loads(input.config)
        except ValueError as e:
            raise fail("", f"input is not JSON: {e}")
        objects, diagnostics = render_objects(site, config)
        wit_world.log(Severity.INFO, f"{len(objects)} MachineConfig(s) for component {input.component}")
        return RenderOutput(
            objects=json.dumps(objects, sort_keys=True, separators=(",", ":")),
            files=[],
            diagnostics=diagnostics,
        )
