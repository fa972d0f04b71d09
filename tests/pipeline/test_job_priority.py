"""Background jobs of the in-process queue yield the CPU to lookups (issue 16): their threads run at LG_JOB_NICE."""

from __future__ import annotations

import os
import threading

import pytest

from lookingglass.errors import BadInput
from lookingglass.pipeline.queue import InlineQueue
from lookingglass.settings import Settings


def own_nice() -> int:
    """The nice value of the thread running this job (Linux keeps one per thread)."""
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def test_inline_jobs_run_at_the_configured_nice_value_and_requests_do_not():
    before = own_nice()
    queue = InlineQueue(workers=1, nice=7)
    try:
        assert queue.enqueue("faces", own_nice).result(timeout=30) == max(7, before)  # raising needs no privilege
    finally:
        queue.drain(30)
    assert own_nice() == before  # the caller's thread (a request's) keeps its priority


def test_nice_zero_leaves_job_threads_alone():
    before = own_nice()
    queue = InlineQueue(workers=1, nice=0)
    try:
        assert queue.enqueue("faces", own_nice).result(timeout=30) == before
    finally:
        queue.drain(30)


def test_the_job_nice_setting_is_checked():
    assert Settings.from_env({}).job_nice == 0
    assert Settings.from_env({"LG_JOB_NICE": "10"}).job_nice == 10
    for bad in ("20", "-1", "low"):
        with pytest.raises(BadInput, match=f"LG_JOB_NICE='{bad}' is not valid"):
            Settings.from_env({"LG_JOB_NICE": bad})
