"""The sequencer through the official GenApi on the in-process camera: exposure bracketing
over three sets (frames and their chunks follow the sets), path 0's reset, and the locks."""

from __future__ import annotations

import pytest
from genicam import genapi

from genapi_host import triggered_chunk_frames

EXPOSURES = (1000.0, 2000.0, 4000.0)


def configure_bracketing(node_map, reset_source: str = "SoftwareSignal1") -> None:
    node_map.SequencerConfigurationMode.value = "On"
    for index, exposure in enumerate(EXPOSURES):
        node_map.SequencerSetSelector.value = index
        node_map.SequencerSetLoad.execute()
        node_map.ExposureTime.value = exposure
        node_map.SequencerPathSelector.value = 0
        node_map.SequencerTriggerSource.value = reset_source
        node_map.SequencerSetNext.value = 0
        node_map.SequencerPathSelector.value = 1
        node_map.SequencerTriggerSource.value = "FrameStart"
        node_map.SequencerSetNext.value = (index + 1) % len(EXPOSURES)
        node_map.SequencerSetSave.execute()
    node_map.SequencerConfigurationMode.value = "Off"


def frames_with_chunks(camera, host, node_map, count: int, between=None) -> list[tuple]:
    """(set, exposure) from the chunks of ``count`` software-triggered frames."""
    return triggered_chunk_frames(
        camera, host, node_map, ("SequencerSetActive", "ExposureTime"), count,
        lambda n: (n.ChunkSequencerSetActive.value, n.ChunkExposureTime.value), between)


def test_exposure_bracketing_steps_through_the_sets(camera, host, node_map):
    configure_bracketing(node_map)
    node_map.SequencerMode.value = "On"
    assert not genapi.is_writable(node_map.get_node("ExposureTime"))   # the sets decide
    seen = frames_with_chunks(camera, host, node_map, 7)
    assert seen == [(i % 3, EXPOSURES[i % 3]) for i in range(7)]
    assert node_map.SequencerSetActive.value == 0                  # frame 7's, next


def test_path_0_resets_the_sequence_when_its_trigger_happened(camera, host, node_map):
    configure_bracketing(node_map)
    node_map.SequencerMode.value = "On"

    def reset_before_frame_2(i: int) -> None:
        if i == 2:
            node_map.SoftwareSignalSelector.value = "SoftwareSignal1"
            node_map.SoftwareSignalPulse.execute()
    seen = frames_with_chunks(camera, host, node_map, 6, reset_before_frame_2)
    assert [s for s, _ in seen] == [0, 1, 0, 1, 2, 0]        # set 2 skipped once: path 0 won


def test_the_sequencer_and_the_auto_functions_exclude_each_other(node_map):
    node_map.ExposureAuto.value = "Continuous"
    assert not genapi.is_writable(node_map.get_node("SequencerMode"))
    node_map.ExposureAuto.value = "Off"
    node_map.SequencerMode.value = "On"
    assert not genapi.is_writable(node_map.get_node("SequencerConfigurationMode"))
    for auto in ("ExposureAuto", "GainAuto"):                 # and the other way round
        assert not genapi.is_writable(node_map.get_node(auto))
    assert not genapi.is_writable(node_map.get_node("SequencerSetNext"))   # sets stay
    node_map.SequencerMode.value = "Off"
    assert not genapi.is_writable(node_map.get_node("SequencerSetSave"))   # configure first
    with pytest.raises(genapi.AccessException):
        node_map.SequencerSetSave.execute()
