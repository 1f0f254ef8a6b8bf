"""Per-process machinery shared by every socket of a web process.

* ``EventRelay`` (embedded mode only: in-memory channel layer): the in-memory layer cannot
  hear events committed by other processes (background worker, management commands), so the
  web process polls the event log for rows it has not relayed yet and fans them out itself.
  ``publish()`` in this process only wakes the relay instead of fanning out directly, so every
  event travels one path and is delivered once. With Redis the relay never starts: publishers
  fan out through Redis themselves.
* ``SessionWatcher``: one query every few seconds re-checks the sessions of all live sockets of
  this process, so logout, password change, deactivation or removal from the workspace stops a
  socket within ``REALTIME_SESSION_CHECK_SECONDS`` without a query per socket.

Both run as asyncio tasks started lazily by the first consumer on the running loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from channels.db import database_sync_to_async
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.conf import settings
from django.db import connection
from django.db.models import F, Max, Q
from django.utils import timezone

from accounts.models import AuthSession
from whatshybrid.realtime.frames import dispatch_message, workspace_group
from whatshybrid.realtime.models import Event

logger = logging.getLogger(__name__)

# A PostgreSQL row can commit after rows with higher ids; the relay keeps looking this far back.
RELAY_LOOKBACK = timedelta(seconds=30)
RELAY_BATCH = 500
SESSION_CHECK_CHUNK = 500
GROUP_REFRESH_SECONDS = 3600


def embedded_mode() -> bool:
    return isinstance(get_channel_layer(), InMemoryChannelLayer)


class _LoopTask:
    """One background task per event loop (tests run a fresh loop per test)."""

    _task: asyncio.Task | None = None

    def ensure_running(self) -> None:
        loop = asyncio.get_running_loop()
        if self._task is not None and not self._task.done() and self._task.get_loop() is loop:
            return
        self._task = loop.create_task(self._supervise(), name=type(self).__name__)

    async def _supervise(self) -> None:
        while True:
            try:
                await self.run()
                return
            except asyncio.CancelledError:
                raise
            except Exception:  # a database hiccup must not end live updates for the process
                logger.exception("%s crashed; restarting in 1 s", type(self).__name__)
                await asyncio.sleep(1)

    async def run(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError


class EventRelay(_LoopTask):
    def __init__(self) -> None:
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._last_id = 0
        self._seen: dict[int, Any] = {}  # event id -> created_at, for the lookback window
        # Set in an HTTP worker process, where no socket lives: tells the serving process's relay
        # instead (whatshybrid.wsgi_processes).
        self.forward: Callable[[], None] | None = None

    def notify(self) -> None:
        """Called from any thread after a commit in this process: poll now instead of waiting."""
        if self.forward is not None:
            self.forward()
            return
        loop, wake = self._loop, self._wake
        if loop is None or wake is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop closed between the check and the call
            loop.call_soon_threadsafe(wake.set)

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        await database_sync_to_async(self._start_watermark)()
        interval = settings.REALTIME_RELAY_INTERVAL_MS / 1000
        layer = get_channel_layer()
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=interval)
            self._wake.clear()
            while True:
                messages = await database_sync_to_async(self._poll)()
                for workspace_id, message in messages:
                    await layer.group_send(workspace_group(workspace_id), message)
                if len(messages) < RELAY_BATCH:
                    break

    def _start_watermark(self) -> None:
        # Start one lookback window in the past: rows committed just before the first socket
        # started the relay still go out (sockets drop the ones they already know by seq).
        cutoff = timezone.now() - RELAY_LOOKBACK
        self._last_id = Event.objects.filter(created_at__lt=cutoff).aggregate(top=Max("id"))["top"] or 0
        self._seen = {}

    def _poll(self) -> list[tuple[Any, dict[str, Any]]]:
        cutoff = timezone.now() - RELAY_LOOKBACK
        self._seen = {pk: created for pk, created in self._seen.items() if created >= cutoff}
        candidates = Event.objects.filter(id__gt=self._last_id)
        if connection.vendor != "sqlite":
            # SQLite writers hold the database lock from BEGIN to COMMIT, so ids commit in order;
            # elsewhere a lower id may still be in flight when a higher one is visible.
            candidates = Event.objects.filter(Q(id__gt=self._last_id) | Q(created_at__gte=cutoff))
        new_ids = [pk for pk in candidates.values_list("id", flat=True) if pk not in self._seen][:RELAY_BATCH]
        if not new_ids:
            return []
        events = list(Event.objects.filter(id__in=new_ids).order_by("id"))
        for event in events:
            self._seen[event.id] = event.created_at
            self._last_id = max(self._last_id, event.id)
        return [(event.workspace_id, dispatch_message(event)) for event in events]


class SessionWatcher(_LoopTask):
    def __init__(self) -> None:
        self._sockets: dict[str, tuple[str, str]] = {}  # channel name -> (session id, group)
        self._groups_refreshed_at = time.monotonic()

    def register(self, channel_name: str, session_id: Any, group: str) -> None:
        self._sockets[channel_name] = (str(session_id), group)
        self.ensure_running()

    def unregister(self, channel_name: str) -> None:
        self._sockets.pop(channel_name, None)

    async def run(self) -> None:
        layer = get_channel_layer()
        while True:
            await asyncio.sleep(settings.REALTIME_SESSION_CHECK_SECONDS)
            if not self._sockets:
                continue
            sockets = dict(self._sockets)
            live = await database_sync_to_async(self._live_sessions)({session for session, _ in sockets.values()})
            for channel_name, (session_id, _) in sockets.items():
                if session_id not in live and channel_name in self._sockets:
                    self._sockets.pop(channel_name, None)
                    await layer.send(channel_name, {"type": "session.ended"})
            if time.monotonic() - self._groups_refreshed_at > GROUP_REFRESH_SECONDS:
                # Channel layers forget group members after a day (group_expiry); extension
                # sockets live longer than that.
                self._groups_refreshed_at = time.monotonic()
                for channel_name, (_, group) in list(self._sockets.items()):
                    await layer.group_add(group, channel_name)

    @staticmethod
    def _live_sessions(session_ids: set[str]) -> set[str]:
        """The same rule as ``resolve_access_token``: live session, active user, still a member."""
        ids = sorted(session_ids)
        live: set[str] = set()
        for start in range(0, len(ids), SESSION_CHECK_CHUNK):
            rows = AuthSession.objects.filter(
                pk__in=ids[start : start + SESSION_CHECK_CHUNK],
                revoked_at__isnull=True,
                user__is_active=True,
                user__memberships__workspace_id=F("workspace_id"),
            ).values_list("pk", flat=True)
            live.update(str(pk) for pk in rows)
        return live


relay = EventRelay()
session_watcher = SessionWatcher()
