"""Dropping the uploaded bytes of sessions that are gone. No drawing here.

Streamlit 1.67 keeps a session's uploads in memory until that session shuts down, but a
session whose browser has closed is kept for `server.disconnectedSessionTTL` and then
dropped without being shut down (streamlit/streamlit#12506): its uploads stayed in
memory for the life of the server (four sessions of ten 19.9 MB pictures: +0.8 GB,
never released; README "Failure behaviour"). One thread per server process, every
SWEEP_S seconds, has the server's event loop shut down the sessions whose time to
reconnect is over (as Streamlit does for a session closed any other way: its uploads,
state and caches go), removes any uploads left without a session, and hands the
memory back (app/memory.py).
"""

from __future__ import annotations

import functools
import logging
import threading
import time

from app import memory

log = logging.getLogger(__name__)
SWEEP_S = 15.0


def sweep(runtime) -> int:
    """Shut down expired sessions and remove uploads whose session is gone; how many
    sessions lost their uploads. Runs on the server's event loop (the session store
    is not thread-safe). Streamlit's internals are read defensively: a version
    without them makes this a no-op."""
    sessions = getattr(runtime, "_session_mgr", None)
    stored = getattr(getattr(sessions, "_session_storage", None), "_cache", None)
    expired = stored.expire() if hasattr(stored, "expire") else []
    for _, info in expired:
        info.session.shutdown()  # removes its uploads; its state goes with the object
    manager = getattr(runtime, "uploaded_file_mgr", None)
    files = getattr(manager, "file_storage", None)
    orphans = []
    if files is not None and hasattr(sessions, "get_session_info"):
        orphans = [sid for sid in list(files) if sessions.get_session_info(sid) is None]
    for session_id in orphans:
        manager.remove_session_files(session_id)
    if expired or orphans:
        memory.release()
    return len({sid for sid, _ in expired} | set(orphans))


def _sweep_logged(runtime) -> None:
    try:
        removed = sweep(runtime)
    except Exception:  # noqa: BLE001 - a failed sweep is retried, never fatal
        log.exception("sweeping closed sessions failed")
    else:
        if removed:
            log.info("freed the uploads of %d closed session(s)", removed)


def _run(runtime, loop) -> None:
    while not loop.is_closed():
        time.sleep(SWEEP_S)
        try:
            loop.call_soon_threadsafe(_sweep_logged, runtime)
        except RuntimeError:  # the loop closed meanwhile: the server is stopping
            return


@functools.cache
def start() -> threading.Thread | None:
    """The sweeper of this server process, started once (None outside a server)."""
    from streamlit import runtime

    instance = runtime.get_instance() if runtime.exists() else None
    if getattr(instance, "_session_mgr", None) is None:  # AppTest's stand-in runtime
        return None
    try:
        loop = instance._get_async_objs().eventloop
    except (AttributeError, RuntimeError):
        return None
    thread = threading.Thread(
        target=_run, args=(instance, loop), name="realorai-upload-sweeper", daemon=True
    )
    thread.start()
    return thread
