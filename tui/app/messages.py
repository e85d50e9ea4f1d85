"""Typed messages that background workers post to the screen that started them."""

from __future__ import annotations

from textual.message import Message

from ftdoctor.tui.data.tasks import ProbeTask, TaskEvent, TaskFailed, TaskFinished, TaskStarted


class ProbeMessage(Message):
    def __init__(self, event: TaskEvent, group: str) -> None:
        super().__init__()
        self.event = event
        self.group = group  # "probes" or "verify": the worker group that ran it

    @property
    def task(self) -> ProbeTask:
        return self.event.task


class ProbeStarted(ProbeMessage):
    event: TaskStarted


class ProbeFinished(ProbeMessage):
    event: TaskFinished


class ProbeFailed(ProbeMessage):
    event: TaskFailed


MESSAGES = {TaskStarted: ProbeStarted, TaskFinished: ProbeFinished, TaskFailed: ProbeFailed}


def message_for(event: TaskEvent, group: str) -> ProbeMessage:
    return MESSAGES[type(event)](event, group)
