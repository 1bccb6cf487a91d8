"""Every ace USB feature and enumeration entry (pylon 9.1.1's parameter list, checked in as
``ace_usb_features.json``) is in the table with pylon's type, or left out for a reason
(``u3v_features.ace_usb_scope``)."""

from __future__ import annotations

import json
from pathlib import Path

from u3v_features.ace_usb_scope import NOT_APPLICABLE, NOT_APPLICABLE_ENTRIES
from u3v_features.acA4096_40um import BY_NAME

ACE_USB = json.loads((Path(__file__).with_name("ace_usb_features.json")).read_text())
# pylon's interface type -> the GenApi node kind of the table.
KIND = {"IIntegerEx": "Integer", "IFloatEx": "Float", "IBooleanEx": "Boolean",
        "IEnumParameterT": "Enumeration", "ICommandEx": "Command", "IStringEx": "String",
        "IRegisterEx": "Register"}
# Applicable features not built yet (issue 11), named so that the list can only shrink: a
# feature built must leave it (the test below fails otherwise).
PENDING: set[str] = set()
PENDING_ENTRIES: set[tuple[str, str]] = set()
# In the table but not in pylon's ace USB list, with the reason.
BEYOND_ACE_USB = {
    "AcquisitionActive": "invisible; what the table's locks read (AcquisitionStart to Stop)",
}


def test_every_ace_usb_feature_is_built_or_left_out_for_a_reason():
    missing, wrong_kind = [], []
    for name, info in ACE_USB["features"].items():
        if name in NOT_APPLICABLE or name in PENDING:
            continue
        if name not in BY_NAME:
            missing.append(name)
        elif BY_NAME[name].kind != KIND[info["type"]]:
            wrong_kind.append(f"{name}: {BY_NAME[name].kind}, pylon {KIND[info['type']]}")
    assert missing == [], f"ace USB features missing: {missing}"
    assert wrong_kind == []
    built_but_pending = sorted(PENDING & set(BY_NAME))
    assert built_but_pending == [], f"built, take them off PENDING: {built_but_pending}"
    assert not set(NOT_APPLICABLE) & set(BY_NAME), "left out and built at once"
    extra = {name for name in BY_NAME if name not in ACE_USB["features"]
             and not name.startswith("Event")}        # Event<Name>Data nodes: SFNC names
    assert extra == set(BEYOND_ACE_USB)


def test_every_ace_usb_enum_entry_is_built_or_left_out_for_a_reason():
    missing, extra = [], []
    for name, expected in ACE_USB["enums"].items():
        if name in NOT_APPLICABLE or name in PENDING:
            continue
        ours = {e.name for e in BY_NAME[name].entries}
        missing += [(name, e) for e in expected if e not in ours
                    and (name, e) not in NOT_APPLICABLE_ENTRIES
                    and (name, e) not in PENDING_ENTRIES]
        extra += [(name, e) for e in sorted(ours - set(expected))]
    assert missing == [], f"ace USB enum entries missing: {missing}"
    assert extra == [], f"entries ace USB does not have: {extra}"
    for name, entry in PENDING_ENTRIES:
        assert entry not in {e.name for e in BY_NAME[name].entries}, \
            f"built, take it off PENDING_ENTRIES: {name} {entry}"


def test_reasons_name_only_ace_usb_features():
    assert set(NOT_APPLICABLE) <= set(ACE_USB["features"])
    for name, entry in NOT_APPLICABLE_ENTRIES:
        assert entry in ACE_USB["enums"][name], (name, entry)
    assert all(NOT_APPLICABLE.values()) and all(NOT_APPLICABLE_ENTRIES.values())
