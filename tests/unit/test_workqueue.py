"""The deduplicating work queue."""

from __future__ import annotations

import asyncio

from stage2_operator.workqueue import WorkQueue


def test_duplicates_collapse() -> None:
    async def scenario() -> list[str]:
        queue = WorkQueue()
        for key in ("a", "b", "a", "a"):
            queue.add(key)
        return [str(await queue.get()), str(await queue.get()), str(len(queue))]

    assert asyncio.run(scenario()) == ["a", "b", "0"]


def test_key_added_during_processing_runs_again() -> None:
    async def scenario() -> list[str]:
        queue = WorkQueue()
        queue.add("a")
        key = await queue.get()
        queue.add("a")
        assert len(queue) == 0
        queue.done(key)
        return [str(await queue.get())]

    assert asyncio.run(scenario()) == ["a"]


def test_add_after_keeps_earliest() -> None:
    async def scenario() -> float:
        queue = WorkQueue()
        loop = asyncio.get_running_loop()
        start = loop.time()
        queue.add_after("a", 0.05)
        queue.add_after("a", 5)
        await asyncio.wait_for(queue.get(), timeout=2)
        return loop.time() - start

    assert asyncio.run(scenario()) < 1
