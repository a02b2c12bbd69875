"""A Python plugin that misbehaves in the way its config's `attack` names.

opsmith's tests use it to check that the sandbox holds for componentize-py
components, which import the whole WASI 0.2 surface. Each attack either
fails (the plugin returns an error naming what was refused, or the host stops
it) or returns what it saw in a ConfigMap, so a test can check that the value
is a fixed one and not the host's.

    attack: passwd       read /etc/passwd
    attack: env          read the environment variable HOME (and the whole environment)
    attack: socket       open a TCP connection to 127.0.0.1:9
    attack: loop         spin forever
    attack: memory       allocate until something gives
    attack: determinism  iterate a set of strings, draw from `random`, read the clocks
    attack: raise        raise an exception that is not the WIT error type
"""

import json
import os
import random
import time

import wit_world
from componentize_py_types import Err
from wit_world.imports.types import (
    AllowedKind,
    PluginInfo,
    RenderError,
    RenderInput,
    RenderOutput,
)

SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "attack": {
            "type": "string",
            "description": "What to try.",
            "enum": ["passwd", "env", "socket", "loop", "memory", "determinism", "raise"],
        }
    },
}


def refuse(what: str, err: BaseException) -> Err:
    return Err(RenderError(message=f"{what} refused: {type(err).__name__}: {err}", pointer="/config/attack", location=None))


def config_map(name: str, data: dict) -> RenderOutput:
    """What an attack saw, as ConfigMap `<component>-<attack>`."""
    obj = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "default"},
        "data": {k: str(v) for k, v in sorted(data.items())},
    }
    return RenderOutput(objects=json.dumps([obj], sort_keys=True), files=[], diagnostics=[])


def passwd() -> dict:
    try:
        with open("/etc/passwd", encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise refuse("reading /etc/passwd", e)
    return {"passwd": text}


def env() -> dict:
    return {"HOME": repr(os.environ.get("HOME")), "variables": repr(sorted(os.environ))}


def socket_attack() -> dict:
    try:
        import socket

        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.settimeout(2)
            s.connect(("127.0.0.1", 9))
            s.sendall(b"hello")
    except Exception as e:  # noqa: BLE001 - any failure is the expected outcome
        raise refuse("connecting to 127.0.0.1:9", e)
    return {"connected": "true"}


def loop() -> dict:
    n = 0
    while True:
        n = (n * 3 + 1) % 1_000_003


def memory() -> dict:
    hoard = []
    while True:
        hoard.append(bytearray(16 << 20))


def determinism() -> dict:
    words = {"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"}
    draws = [random.random() for _ in range(3)]
    return {
        "setOrder": ",".join(words),  # deliberately not sorted
        "random": ",".join(repr(d) for d in draws),
        "randint": str(random.randint(0, 1_000_000)),
        "urandom": os.urandom(8).hex(),
        "time": repr(time.time()),
        "monotonic": repr(time.monotonic()),
        "hashOfString": str(hash("opsmith")),
    }


ATTACKS = {
    "passwd": passwd,
    "env": env,
    "socket": socket_attack,
    "loop": loop,
    "memory": memory,
    "determinism": determinism,
}


class WitWorld(wit_world.WitWorld):
    def describe(self) -> PluginInfo:
        return PluginInfo(
            name="hostile-python",
            version="0.1.0",
            description="misbehaves on request (tests only)",
            config_schema=json.dumps(SCHEMA, sort_keys=True),
            emits=[AllowedKind(api_version="v1", kind="ConfigMap", namespaces=["*"])],
        )

    def render(self, input: RenderInput) -> RenderOutput:
        attack = json.loads(input.config).get("attack", "")
        if attack == "raise":
            raise ValueError("hostile plugin gave up on purpose")
        action = ATTACKS.get(attack)
        if action is None:
            raise Err(RenderError(message=f"unknown attack {attack!r}", pointer="/config/attack", location=None))
        return config_map(f"{input.component}-{attack}", action())
