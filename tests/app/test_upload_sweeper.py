"""Closed sessions are shut down once their time to reconnect is over, and uploads of
sessions the server no longer knows are removed (Streamlit 1.67 keeps an expired
session in its store, never shut down, so its uploads stayed in memory for the life
of the server)."""

from __future__ import annotations

import inspect

from streamlit.runtime.memory_session_storage import MemorySessionStorage
from streamlit.runtime.memory_uploaded_file_manager import MemoryUploadedFileManager
from streamlit.runtime.runtime import Runtime
from streamlit.runtime.session_manager import SessionInfo
from streamlit.runtime.uploaded_file_manager import UploadedFileRec
from streamlit.runtime.websocket_session_manager import WebsocketSessionManager

from app import upload_sweeper


class Session:
    def __init__(self, session_id, manager):
        self.id, self.manager, self.shut_down = session_id, manager, False

    def shutdown(self):  # what AppSession.shutdown does with the uploads
        self.shut_down = True
        self.manager.remove_session_files(self.id)


class Sessions:
    """The server's sessions: `connected` ones, and closed ones kept for a reconnect in
    Streamlit's own store (the real one; ttl 0: expired at once, yet still held)."""

    def __init__(self, connected):
        self.connected = set(connected)
        self._session_storage = MemorySessionStorage(ttl_seconds=0)

    def get_session_info(self, session_id):
        return object() if session_id in self.connected else None


class Server:
    def __init__(self, connected):
        self.uploaded_file_mgr = MemoryUploadedFileManager("/_stcore/upload_file")
        self._session_mgr = Sessions(connected)

    def close(self, session_id) -> Session:
        """A browser closed: its session goes to the store for a reconnect."""
        session = Session(session_id, self.uploaded_file_mgr)
        self._session_mgr._session_storage.save(SessionInfo(None, session, 1))
        return session


def add(server, session_id: str, file_id: str, size: int) -> None:
    record = UploadedFileRec(file_id, f"{file_id}.png", "image/png", bytes(size))
    server.uploaded_file_mgr.add_file(session_id, record)


def test_expired_sessions_are_shut_down_and_orphan_uploads_removed():
    server = Server(connected={"open"})
    for session in ("open", "closed", "orphan"):
        add(server, session, f"{session}-a", 1000)
        add(server, session, f"{session}-b", 1000)
    closed = server.close("closed")
    assert upload_sweeper.sweep(server) == 2
    assert closed.shut_down and not server._session_mgr._session_storage._cache._data
    assert set(server.uploaded_file_mgr.file_storage) == {"open"}
    kept = server.uploaded_file_mgr.get_files("open", ["open-a", "open-b"])
    assert [f.file_id for f in kept] == ["open-a", "open-b"]
    assert upload_sweeper.sweep(server) == 0


def test_without_streamlit_s_internals_it_does_nothing():
    class Bare:
        uploaded_file_mgr = None

    assert upload_sweeper.sweep(Bare()) == 0
    assert upload_sweeper.start() is None  # no server here (pytest), no thread


def test_the_streamlit_internals_it_reads_are_there():
    # A Streamlit upgrade that renames them turns the sweeper into a no-op: fail here.
    assert "self._session_mgr" in inspect.getsource(Runtime.__init__)
    assert hasattr(Runtime, "_get_async_objs")
    assert hasattr(WebsocketSessionManager, "get_session_info")
    assert "self._session_storage" in inspect.getsource(WebsocketSessionManager.__init__)
    assert hasattr(MemorySessionStorage()._cache, "expire")
    assert "file_storage" in vars(MemoryUploadedFileManager("/x"))
