"""Subscribers to the observation stream (u3v_sim/observers.py): in order, bounded, and a
slow one told how many it lost, also when nothing comes after the loss."""

from __future__ import annotations

import asyncio

from u3v_sim.camera.observations import Rebooted
from u3v_sim.observers import Observers


def test_a_slow_subscriber_hears_of_its_loss_once_caught_up():
    async def scenario():
        observers = Observers()
        subscriber = observers.subscribe(None)
        subscriber.limit = 3
        observers.publish("40012345", [Rebooted(t, "power_up") for t in range(10)])
        items = subscriber.items()
        got = [await anext(items) for _ in range(4)]
        assert [g.get("timestamp_ns") for g in got[:3]] == [0, 1, 2]
        assert got[3] == {"serial": None, "event": "subscriber_overflow", "count": 7}
        observers.publish("40012345", [Rebooted(42, "power_up")])
        assert (await anext(items))["timestamp_ns"] == 42
        assert observers.stats()["dropped"] == 7
        await items.aclose()
        observers.unsubscribe(subscriber)
        assert observers.stats() == {"subscribers": 0, "published": 11, "dropped": 7}
    asyncio.run(scenario())


def test_subscribers_of_one_camera_get_only_its_observations():
    async def scenario():
        observers = Observers()
        one, every = observers.subscribe("1"), observers.subscribe(None)
        observers.publish("2", [Rebooted(5, "power_up")])
        observers.publish("1", [Rebooted(6, "power_up")])
        assert (await anext(one.items()))["serial"] == "1"
        first = every.items()
        assert [(await anext(first))["serial"] for _ in range(2)] == ["2", "1"]
    asyncio.run(scenario())
