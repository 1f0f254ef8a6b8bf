"""``manage.py serve``: one command runs everything on one machine.

Applies migrations, loads the project, forks the HTTP worker processes
(``whatshybrid.wsgi_processes``) and the background worker (django-tasks-db ``db_worker``) from it,
starts the periodic-job scheduler as a thread, and serves HTTP + websockets with uvicorn on the
ASGI app (the Docker image's web process is this command with ``--no-worker --no-scheduler
--no-migrate``). Ctrl-C, SIGTERM or SIGHUP stops the server, then the HTTP workers, the scheduler
and the worker; every child also gets SIGTERM from the kernel if this process dies without
cleaning up (``kill -9``).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
from typing import Any

import uvicorn
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import connections

from whatshybrid.http_protocol import JsonErrorsHttpToolsProtocol
from whatshybrid.realtime.polling import registry
from whatshybrid.scheduling.services import scheduler_run
from whatshybrid.wsgi_processes import die_with_parent


class Command(BaseCommand):
    help = "Run the API (HTTP + websockets), the background worker and the periodic-job scheduler in one command."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "3000")))
        parser.add_argument("--no-worker", action="store_true", help="Do not start the background worker.")
        parser.add_argument(
            "--no-scheduler", action="store_true", help="Do not enqueue periodic jobs (another process does)."
        )
        parser.add_argument("--no-migrate", action="store_true", help="Skip applying migrations.")

    def handle(
        self, *args: Any, host: str, port: int, no_worker: bool, no_scheduler: bool, no_migrate: bool, **options: Any
    ) -> None:
        if not no_migrate:
            call_command("migrate", interactive=False, verbosity=1)
        from whatshybrid.asgi import http_bridge  # loads the whole project before the workers fork

        if settings.HTTP_PROCESSES:
            http_bridge.run_in_processes(settings.HTTP_PROCESSES)
            pids = ", ".join(map(str, http_bridge.workers.pids))
            self.stdout.write(f"HTTP worker processes started (pids {pids})")
        worker = None
        if not no_worker:
            # Forked while this process has no thread yet, rather than started afresh: it shares
            # the loaded project's memory (bench/side_by_side: about 50 MB less in all).
            connections.close_all()
            worker = multiprocessing.get_context("fork").Process(target=_run_background_worker, name="db_worker")
            worker.start()
            self.stdout.write(f"background worker started (pid {worker.pid})")
        stop_scheduler = threading.Event()
        scheduler = None
        if not no_scheduler:
            # A thread, not a process: it wakes up every tick for a query or two and needs no
            # memory of its own. It only enqueues; the worker runs the jobs.
            scheduler = threading.Thread(
                target=scheduler_run, kwargs={"stop": stop_scheduler}, name="scheduler", daemon=True
            )
            scheduler.start()
            self.stdout.write("periodic-job scheduler started")
        self.stdout.write(self.style.SUCCESS(f"WhatsHybrid API on http://{host}:{port}  (docs: /api/v1/docs)"))
        # uvicorn handles SIGINT/SIGTERM by shutting down, then re-raises the signal once its own
        # handlers are gone; without these handlers that re-raise would kill this process before
        # the cleanup below (the worker would outlive the server). SIGHUP (terminal closed) takes
        # the same graceful path as SIGTERM.
        signal.signal(signal.SIGTERM, _stop_serving)
        signal.signal(signal.SIGHUP, lambda *_: signal.raise_signal(signal.SIGTERM))
        try:
            config = uvicorn.Config(
                "whatshybrid.asgi:application",
                host=host,
                port=port,
                lifespan="off",
                # LOG_LEVEL=WARNING also silences uvicorn's access log: its line per request is
                # about 0.1 ms of CPU on the event loop, which every request waits behind.
                log_level=logging.getLevelNamesMapping()[settings.LOG_LEVEL.upper()],
                http=JsonErrorsHttpToolsProtocol,
                server_header=False,
                # Frames larger than the maxPayload the Socket.IO handshake announces are refused
                # by the server before they are buffered (uvicorn's default is 16 MiB).
                ws_max_size=settings.SOCKETIO_MAX_PAYLOAD,
            )
            PromptShutdownServer(config).run()
        except (KeyboardInterrupt, _Stopped):
            pass  # the signal uvicorn handled, re-raised; shutting down is the expected outcome
        finally:
            for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                signal.signal(signum, signal.SIG_IGN)  # a second stop signal must not cut the cleanup short
            stop_scheduler.set()
            if scheduler is not None:
                scheduler.join(timeout=10)
            if worker is not None and worker.is_alive():
                worker.terminate()  # SIGTERM: the worker finishes its current job's step and exits
                worker.join(timeout=10)
                if worker.is_alive():
                    worker.kill()
                    worker.join(timeout=5)


class PromptShutdownServer(uvicorn.Server):
    """uvicorn waits for every open request before it stops, and a Socket.IO long-poll is held
    for up to a ping interval (25 s): the polling sessions close first, so their pending GETs
    answer at once and a stop takes well under a second with polling clients connected."""

    async def shutdown(self, sockets: Any = None) -> None:
        from whatshybrid.asgi import http_bridge

        registry.close_all()
        await super().shutdown(sockets=sockets)
        await http_bridge.close()


class _Stopped(Exception):
    """SIGTERM after uvicorn has shut down."""


def _stop_serving(signum: int, frame: Any) -> None:
    raise _Stopped


def _run_background_worker() -> None:
    die_with_parent()
    call_command("db_worker")
