"""The harness's typed commands: every adapter sends ``command.request()`` and the daemon
parses it back to the same command; anything else is one clear invalid_argument line."""

from __future__ import annotations

import pytest

from u3v_sim.harness import commands as c
from u3v_sim.harness.results import CommandError, Result, ResultCode

EXAMPLES = [
    c.Status(), c.Plug(command="unplug", serial="40012345"), c.Plug(command="replug"),
    c.Reset(), c.Line(line="Line1", level=True), c.Line(line="Line3", voltage=3.3),
    c.Pulse(line="Line1", width_us=100, period_us=1000, count=5, delay_us=10.5, level=False),
    c.Pulse(line="Line1", width_us=100, period_us=200, count=10_000),
    c.FeatureGet(name="LineStatus", selector="Line1"), c.FeatureSet(name="Width", value="64"),
    c.FeatureSet(name="Gain", value=3.5), c.FeatureSet(name="ReverseX", value=True),
    c.Execute(name="TriggerSoftware", selector="FrameStart"), c.Temperature(ambient_offset=31),
    c.Image(path="/tmp/scene.png"), c.Image(), c.Snapshot(), c.Subscribe(serial="40012345"),
    c.FaultAdd(kind="truncated_payload", every=3, probability=0.5, seed=7, count=None,
               params={"fraction": 0.25}),
    c.FaultList(), c.FaultClear(id=2), c.FaultClear(),
]


@pytest.mark.parametrize("command", EXAMPLES, ids=lambda command: command.command)
def test_a_command_survives_the_wire(command):
    assert c.parse(command.request()) == command


@pytest.mark.parametrize("request_, says", [
    ({"command": "pulse", "line": "Line1", "width_us": 0, "period_us": 10},
     "pulse: width_us = 0: is too small"),
    ({"command": "pulse", "line": "Line1", "width_us": 5, "period_us": 10, "count": 4},
     "pulse: pulses and the gaps between them must last at least 100 us"),
    ({"command": "pulse", "line": "Line1", "width_us": 150, "period_us": 200, "count": 4},
     "pulse: pulses and the gaps between them must last at least 100 us"),
    ({"command": "pulse", "line": "Line1", "width_us": 200, "period_us": 100, "count": 2},
     "pulse: width_us must be shorter than period_us"),
    ({"command": "pulse", "line": "Line1", "width_us": 100, "period_us": 1000, "count": 0},
     "pulse: count = 0: is too small"),
    ({"command": "pulse", "line": "Line1", "width_us": "100", "period_us": 1000},
     "pulse: width_us = '100': must be a number"),
    ({"command": "feature_set", "name": "Width"}, "feature_set: value: is missing"),
    ({"command": "feature_set", "name": "Width", "value": None},
     "feature_set: value = None: must be a string, a number or true/false"),
    ({"command": "feature_get", "name": "Width", "selector": 1.5},
     "feature_get: selector = 1.5: must be a string or an integer"),
    ({"command": "execute"}, "execute: name: is missing"),
    ({"command": "image", "path": 3}, "image: path = 3: must be a string"),
    ({"command": "subscribe", "since": 0}, "subscribe: since: is not a field of this command"),
    ({"command": "dance"}, "unknown command 'dance'"),
    ({"command": "pulse", "line": "Line1", "width_us": 100, "period_us": 1000, "count": 1e3},
     "pulse: count = 1000.0: must be a whole number"),
    ({"command": "pulse", "line": "Line1", "width_us": float("nan"), "period_us": 1000},
     "pulse: width_us = nan: must be a finite number"),
    ({"command": "fault_add", "kind": "late_ack", "probability": float("nan")},
     "fault_add: probability = nan: must be a finite number"),
    ({"command": "fault_add", "kind": "late_ack", "params": {"delay_ms": float("inf")}},
     "fault_add: params.delay_ms = inf: must be a finite number"),
    ({"command": "fault_add", "kind": "late_ack", "params": {"\ud800": 1}},
     "fault_add: a text field is not UTF-8 (a lone surrogate)"),
])
def test_malformed_commands_name_the_field(request_, says):
    with pytest.raises(CommandError) as refused:
        c.parse(request_)
    assert refused.value.code is ResultCode.INVALID_ARGUMENT
    assert refused.value.message.startswith(says), refused.value.message
    assert "\n" not in refused.value.message


def test_numpy_scalars_are_the_values_they_stand_for():
    np = pytest.importorskip("numpy")
    assert c.build(c.FeatureSet, name="Width", value=np.int64(1024)).value == 1024
    assert c.build(c.Line, line="Line1", level=np.True_).level is True
    assert c.build(c.FaultAdd, kind="late_ack", params={"delay_ms": np.float32(300)}
                   ).params == {"delay_ms": 300.0}


def test_results_on_the_wire():
    assert Result(ResultCode.OK, data={"value": 3}).to_json() == {"code": "ok", "value": 3}
    refused = Result(ResultCode.REFUSED, "Width = 8: below minimum", "INVALID_PARAMETER")
    assert refused.to_json() == {"code": "refused", "error": "Width = 8: below minimum",
                                 "status": "INVALID_PARAMETER"}
