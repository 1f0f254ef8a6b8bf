"""What both websocket endpoints share: token checks, the workspace stream, ordering and resume.

A consumer joins its workspace's group, then delivers each event exactly once and in sequence
order: frames at or below the last delivered ``seq`` are dropped (a replay overlapping live
traffic, a relay re-send), and a frame that skips numbers first pulls the missing ones from the
log. That is sound because a sequence number is taken under a lock held until commit, so when
``seq`` N is visible every number below it has committed too.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from accounts.authentication import TokenInvalid, resolve_access_token
from whatshybrid.realtime import selectors
from whatshybrid.realtime.frames import dispatch_message, workspace_group
from whatshybrid.realtime.hub import embedded_mode, relay, session_watcher
from whatshybrid.strict_json import text_repaired

REPLAY_BATCH = 500
MAX_TOKEN_LENGTH = 4096
MISSING_TOKEN_MESSAGE = "Authentication required: send your access token."


@dataclass(frozen=True)
class SocketIdentity:
    user_id: str
    session_id: str
    workspace_id: str


@database_sync_to_async
def authenticate(raw: Any) -> SocketIdentity | str:
    """The socket's identity, or the message explaining why the token was refused."""
    if not isinstance(raw, str) or not raw.strip():
        return MISSING_TOKEN_MESSAGE
    if len(raw) > MAX_TOKEN_LENGTH:
        return str(TokenInvalid.default_detail)
    try:
        user, context = resolve_access_token(raw.strip())
    except TokenInvalid as exc:
        return str(exc.detail)
    return SocketIdentity(
        user_id=str(user.pk), session_id=str(context.session_id), workspace_id=str(context.workspace.pk)
    )


@database_sync_to_async
def _last_seq(workspace_id: str) -> int:
    return selectors.workspace_last_seq(workspace_id=workspace_id)


@database_sync_to_async
def _events_between(workspace_id: str, after: int, until: int | None) -> tuple[list[dict[str, Any]], bool]:
    """One page of the log after ``after`` (up to ``until``) and whether more follow."""
    events, has_more = selectors.event_page_after(
        workspace_id=workspace_id, after=after, until=until, limit=REPLAY_BATCH
    )
    return [dispatch_message(event) for event in events], has_more


class _FrameCache:
    """Each event is encoded once per process and transport, not once per socket."""

    def __init__(self, size: int = 4096) -> None:
        self._frames: OrderedDict[tuple[str, str, int], str] = OrderedDict()
        self._size = size

    def get(self, kind: str, workspace_id: str, message: dict[str, Any], encode: Callable[[dict], str]) -> str:
        key = (kind, workspace_id, message["seq"])
        frame = self._frames.get(key)
        if frame is None:
            frame = self._frames[key] = encode(message)
            if len(self._frames) > self._size:
                self._frames.popitem(last=False)
        return frame


frame_cache = _FrameCache()


def dumps(value: Any) -> str:
    # An unpaired surrogate (a row stored before the strict parser) cannot be sent as UTF-8: it
    # used to drop every socket of the workspace, so it goes out as U+FFFD.
    return text_repaired(json.dumps(value, separators=(",", ":"), ensure_ascii=False))


class WorkspaceStreamConsumer(AsyncWebsocketConsumer):
    """Subclasses decide how to authenticate and call ``start_stream``/``send_event``."""

    identity: SocketIdentity | None = None
    last_seq = 0

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels closes stale DB connections in a thread hop before every handler; here every
        # database touch already goes through database_sync_to_async (which does the same), and
        # one hop per socket per event would cost more than the whole fan-out. A test
        # (test_layers.py) fails when Channels' own dispatch changes under this copy.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def start_stream(self, identity: SocketIdentity, *, resume_from: int | None = None) -> None:
        self.identity = identity
        # Join before reading the log: anything committed from here on reaches us live, and
        # the seq filter drops what the replay already sent.
        group = workspace_group(identity.workspace_id)
        await self.channel_layer.group_add(group, self.channel_name)
        session_watcher.register(self.channel_name, identity.session_id, group)
        if embedded_mode():
            relay.ensure_running()
        # Read after joining: whatever commits after this read is already on its way to us;
        # what the read includes happened before this connection (resume_from replays it).
        self.last_seq = await _last_seq(identity.workspace_id)
        if resume_from is not None:
            await self.replay(resume_from)

    async def stop_stream(self) -> None:
        if self.identity is None:
            return
        session_watcher.unregister(self.channel_name)
        await self.channel_layer.group_discard(workspace_group(self.identity.workspace_id), self.channel_name)
        self.identity = None

    async def disconnect(self, code: int) -> None:
        await self.stop_stream()

    async def replay(self, resume_from: int) -> None:
        """Sends every logged event after ``resume_from`` up to the present, then goes live."""
        assert self.identity is not None
        cursor = resume_from
        first = True
        while True:
            batch, has_more = await _events_between(self.identity.workspace_id, cursor, None)
            if first and (batch[0]["seq"] if batch else self.last_seq + 1) > resume_from + 1:
                await self.replay_gap(resume_from)
            first = False
            for message in batch:
                await self.send_event(message)
                cursor = message["seq"]
            if not has_more:
                break
        # A client ahead of the log (e.g. a restored database) continues from the log's present.
        self.last_seq = max(cursor, self.last_seq) if cursor > resume_from else min(resume_from, self.last_seq)

    async def replay_gap(self, resume_from: int) -> None:
        """Hook: events after ``resume_from`` were pruned by retention and cannot be replayed."""

    async def event_dispatch(self, message: dict[str, Any]) -> None:
        if self.identity is None:
            return
        seq = message["seq"]
        if seq <= self.last_seq:
            return
        has_more = seq > self.last_seq + 1
        while has_more:
            missing, has_more = await _events_between(self.identity.workspace_id, self.last_seq, seq - 1)
            for earlier in missing:
                await self.send_event(earlier)
                self.last_seq = earlier["seq"]
        await self.send_event(message)
        self.last_seq = seq

    async def events_dispatch(self, message: dict[str, Any]) -> None:
        for event in message["events"]:
            await self.event_dispatch(event)

    async def send_event(self, message: dict[str, Any]) -> None:
        raise NotImplementedError

    async def session_ended(self, message: dict[str, Any]) -> None:
        """Sent by the session watcher: logout, password change, deactivation or removal."""
        await self.stop_stream()
        await self.end_session()

    async def end_session(self) -> None:
        raise NotImplementedError
