"""The garbage collector during a sync (``service.collector``): the heap that existed when
the sync began is frozen and collections are rarer, for the sync's length only, whichever
way it ends and however many syncs overlap in the process."""

from __future__ import annotations

import gc
import threading
import weakref
from collections.abc import Iterator

import pytest

from rostersync.service.collector import THRESHOLDS, sync_collections

from .conftest import Env


@pytest.fixture(autouse=True)
def _default_collector() -> Iterator[None]:
    """Each test starts from a collector at known thresholds with nothing frozen."""
    before = gc.get_threshold()
    gc.unfreeze()
    gc.set_threshold(700, 10, 10)
    yield
    gc.unfreeze()
    gc.set_threshold(*before)


def test_a_sync_runs_on_a_frozen_heap_and_leaves_the_collector_as_it_was(env: Env) -> None:
    seen: list[tuple[int, tuple[int, int, int]]] = []

    def progress(stage: str) -> None:
        seen.append((gc.get_freeze_count(), gc.get_threshold()))

    result = env.sync(progress=progress)

    assert not result.error and result.runs
    assert seen, "the fetch reports its progress"
    assert all(frozen > 1000 for frozen, _ in seen), seen  # the modules, at least
    assert {thresholds for _, thresholds in seen} == {THRESHOLDS}
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == (700, 10, 10)


def test_a_sync_that_fails_leaves_the_collector_as_it_was(env: Env) -> None:
    def progress(stage: str) -> None:
        raise RuntimeError("stop here")

    with pytest.raises(RuntimeError, match="stop here"):
        env.sync(progress=progress)

    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == (700, 10, 10)


def test_overlapping_syncs_keep_the_heap_frozen_until_the_last_ends() -> None:
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    during: dict[str, tuple[int, tuple[int, int, int]]] = {}

    def first() -> None:
        with sync_collections():
            first_in.set()
            second_in.wait(5)
        first_out.set()

    def second() -> None:
        first_in.wait(5)
        with sync_collections():
            second_in.set()
            first_out.wait(5)
            during["after the first ended"] = (gc.get_freeze_count(), gc.get_threshold())

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    frozen, thresholds = during["after the first ended"]
    assert frozen > 1000 and thresholds == THRESHOLDS
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == (700, 10, 10)


def test_garbage_made_during_a_sync_is_still_collected() -> None:
    class Node:
        other: object = None

    with sync_collections():
        a, b = Node(), Node()
        a.other, b.other = b, a
        gone = weakref.ref(a)
        del a, b
        gc.collect()
        assert gone() is None  # the cycle is the sync's own, not frozen
