"""A stop asked for from a signal handler takes no lock, and still ends the scheduler's idle."""

from __future__ import annotations

import threading

from connector.sync.stop import StopToken


def test_a_signal_handlers_request_is_seen_by_wait_without_touching_the_event() -> None:
    token = StopToken()
    token._event = _Refusing()  # type: ignore[assignment]  # set() would be the deadlock
    token.request_from_signal("SIGTERM received")
    assert token.requested and token.reason == "SIGTERM received"
    assert token.wait(5.0) is True  # returns at once: the flag is already up


def test_a_request_from_another_thread_ends_the_wait_and_the_first_reason_stays() -> None:
    token = StopToken()
    asker = threading.Timer(0.05, token.request, args=("SIGINT received",))
    asker.start()
    assert token.wait(10.0) is True
    token.request("later")
    assert token.reason == "SIGINT received"
    assert StopToken().wait(0.0) is False


class _Refusing(threading.Event):
    def set(self) -> None:
        raise AssertionError("a signal handler must not set the event")
