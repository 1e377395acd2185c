"""What Sandbox and JSSandbox share: log levels, guest output and log routing, the per-sandbox
lock that allows one thread at a time, and Snapshot."""
import contextlib
import enum
import io
import logging
import os
import threading
from ctypes import byref, c_void_p, string_at
from typing import Any, Callable, NamedTuple, Optional, TypeVar, Union

from . import _errors, _lib


class LogLevel(enum.IntEnum):
    """hl_log_level."""
    OFF = 0
    ERROR = 1
    WARN = 2
    INFO = 3
    DEBUG = 4
    TRACE = 5


TRACE = 5  # the `logging` level guest TRACE records get (below logging.DEBUG)
_TO_LOGGING = {1: logging.ERROR, 2: logging.WARNING, 3: logging.INFO, 4: logging.DEBUG, 5: TRACE}


def log_level(x: Union[None, int, str]) -> Optional[int]:
    if x is None:
        return None
    if isinstance(x, str):
        try:
            return int(LogLevel[x.upper().replace("WARNING", "WARN")])
        except KeyError:
            raise ValueError("log level %r: not one of off, error, warn, info, debug, trace" % x)
    return int(LogLevel(x))


class LogRecord(NamedTuple):
    """One guest log record: its level (LogLevel), message, and file and line in the guest's source
    ("" and 0 when the guest gave none)."""
    level: LogLevel
    message: str
    file: str
    line: int


Output = Union[None, Callable[[bytes], Any], io.IOBase, Any]
Log = Union[None, bool, logging.Logger, Callable[[LogRecord], Any]]


def writer(target: Output) -> Optional[Callable[[bytes], Any]]:
    """A function that takes guest bytes, from a callable (given the bytes), a binary stream, or a
    text stream (decoded as UTF-8, invalid bytes replaced; sys.stdout gets the bytes unchanged)."""
    if target is None:
        return None
    write = getattr(target, "write", None)
    if write is None:
        if not callable(target):
            raise TypeError("output target %r is neither callable nor a stream" % (target,))
        return target
    buf = getattr(target, "buffer", None)
    if buf is not None and hasattr(buf, "write"):
        def to_buffer(data: bytes) -> None:
            target.flush()
            buf.write(data)
            buf.flush()
        return to_buffer
    if isinstance(target, io.TextIOBase):
        return lambda data: write(data.decode("utf-8", "replace"))
    return write


def logger_fn(log: Log) -> Optional[Callable[[LogRecord], Any]]:
    """A function taking a LogRecord, from a callable, a logging.Logger, or True (the logger
    "hyperlight.guest")."""
    if log is None or log is False:
        return None
    if log is True:
        log = logging.getLogger("hyperlight.guest")
    if isinstance(log, logging.Logger):
        lg = log

        def to_logger(rec: LogRecord) -> None:
            lvl = _TO_LOGGING.get(int(rec.level), logging.INFO)
            if lg.isEnabledFor(lvl):
                lg.log(lvl, "%s", rec.message,
                       extra={"guest_file": rec.file, "guest_line": rec.line})
        return to_logger
    if not callable(log):
        raise TypeError("log target %r is neither callable nor a logging.Logger" % (log,))
    return log


class Callbacks:
    """The C callbacks of one sandbox (kept alive as long as it), routing output and logs to Python
    and keeping the first exception they raise for the operation to re-raise once it has returned
    (see finish)."""

    def __init__(self, stdout: Output, stderr: Output, output, log: Log):
        self.stdout, self.stderr = writer(stdout), writer(stderr)
        self.output = output
        self.log = logger_fn(log)
        self.error: Optional[BaseException] = None
        self.output_fn = _lib.OUTPUT_FN(self._on_output) if (
            self.stdout or self.stderr or self.output) else _lib.OUTPUT_FN()
        self.log_fn = _lib.LOG_FN(self._on_log) if self.log else _lib.LOG_FN()

    def _on_output(self, user, stream, ptr, n):
        try:
            data = string_at(ptr, n) if n else b""
            if self.output is not None:
                self.output(int(stream), data)
            w = self.stderr if stream == 2 else self.stdout
            if w is not None:
                w(data)
        except BaseException as e:  # noqa: B036 - nothing may unwind through C
            self.keep(e)

    def _on_log(self, user, rec):
        try:
            r = rec[0]
            self.log(LogRecord(LogLevel(r.level), (r.message or b"").decode("utf-8", "replace"),
                               (r.file or b"").decode("utf-8", "replace"), int(r.line)))
        except BaseException as e:  # noqa: B036
            self.keep(e)

    def keep(self, e: BaseException) -> None:
        if self.error is None:
            self.error = e

    def take(self) -> Optional[BaseException]:
        e, self.error = self.error, None
        return e

    def chain(self, e: BaseException) -> None:
        """e (raised by the bindings after the library had run callbacks, e.g. a wrong argument
        after the implicit init) gets the callbacks' pending exception as its __context__."""
        pending = self.take()
        if pending is not None and pending is not e and e.__context__ is None:
            e.__context__ = pending


def finish(err: Optional[BaseException], cb_exc: Optional[BaseException],
           host_exc: Optional[BaseException], result: Any = None) -> Any:
    """What an operation of a sandbox (call, eval, init, snapshot ...) ends with, once the library
    has returned: err is its failure (None on success), cb_exc the first exception an output or
    log callback raised during it, host_exc the first one a host function raised, result its
    value. A failure raises err with the Python exception as its __cause__ (a KeyboardInterrupt or
    SystemExit itself instead). A success returns result, unless a callback raised (or a host
    function raised KeyboardInterrupt or SystemExit): that exception is raised then, with the
    operation complete and its value on the exception as `result`, so the value is never lost.
    (Other exceptions of host functions reached the guest as host errors, which it handled.)"""
    if err is not None:
        cause = host_exc or cb_exc
        if cause is not None and not isinstance(cause, Exception):
            raise cause  # KeyboardInterrupt, SystemExit
        if cause is not None:
            raise err from cause
        raise err
    exc = host_exc if host_exc is not None and not isinstance(host_exc, Exception) else cb_exc
    if exc is not None:
        try:
            exc.result = result
        except Exception:  # noqa: BLE001 - an exception type refusing attributes keeps its own
            pass
        raise exc
    return result


class Guard:
    """One thread at a time: enter() raises Busy instead of waiting (a second thread, or a callback
    of the sandbox calling into it again), never blocks."""

    def __init__(self, what: str):
        self.lock = threading.Lock()
        self.owner: Optional[int] = None
        self.what = what

    def enter(self) -> None:
        if not self.lock.acquire(blocking=False):
            if self.owner == threading.get_ident():
                raise _errors.Busy(-8, "%s: not from one of its own callbacks" % self.what)
            raise _errors.Busy(-8, "%s is in use by another thread (one thread at a time)"
                               % self.what)
        self.owner = threading.get_ident()

    def leave(self) -> None:
        self.owner = None
        self.lock.release()

    def mine(self) -> bool:
        return self.owner == threading.get_ident()


_C = TypeVar("_C", bound="Closable")


class Closable:
    """`with X(...) as x:` closes x at the end of the block (Sandbox, JSSandbox, Snapshot)."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self: _C) -> _C:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Snapshot(Closable):
    """An immutable, reference-counted snapshot of a sandbox (hl_snapshot): restore it into a
    sandbox of the same guest and config, make new sandboxes from it, save it to a file. Usable
    from any thread, by any number of sandboxes at once."""

    def __init__(self, ptr: int):
        self._ptr: Optional[int] = ptr
        self._lock = threading.Lock()
        self._users = 0  # calls using _ptr right now: close() releases it after the last
        self._closing = False

    @classmethod
    def load(cls, path: Union[str, "os.PathLike[str]"]) -> "Snapshot":
        """Loads a file written by save() (in this or another process); its memory is mapped."""
        out = c_void_p()
        _errors.check(_lib.lib().hl_snapshot_load(os.fsencode(path), byref(out)))
        return cls(out.value)

    def save(self, path: Union[str, "os.PathLike[str]"]) -> None:
        """Writes the snapshot to path (created or replaced atomically)."""
        with self._use() as p:
            _errors.check(_lib.lib().hl_snapshot_save(p, os.fsencode(path)))

    @contextlib.contextmanager
    def _use(self):
        """The handle, kept alive until the block ends even if another thread closes it."""
        with self._lock:
            if self._ptr is None or self._closing:
                raise _errors.Closed(-8, "snapshot is closed")
            self._users += 1
        try:
            yield self._ptr
        finally:
            with self._lock:
                self._users -= 1
                p = self._take_if_done()
            if p:
                _lib.lib().hl_snapshot_release(p)

    def _take_if_done(self) -> Optional[int]:
        if self._closing and self._users == 0 and self._ptr is not None:
            p, self._ptr = self._ptr, None
            return p
        return None

    @property
    def closed(self) -> bool:
        return self._ptr is None or self._closing

    def close(self) -> None:
        """Drops this reference (sandboxes made from it keep theirs). Idempotent; safe while
        another thread still uses the snapshot (released when that use ends)."""
        with self._lock:
            self._closing = True
            p = self._take_if_done()
        if p:
            _lib.lib().hl_snapshot_release(p)

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


def set_hot(cfg, hot: bool, spin_us: Optional[int]) -> None:
    """hot= and hot_spin_us= of a Sandbox or JSSandbox (the library checks the window's range)."""
    if not isinstance(hot, bool):
        raise _errors.ConfigError(-5, "hot must be a bool, got %r" % (hot,))
    cfg.hot = hot
    set_size(cfg, "hot_spin_us", spin_us, 2**32)


def set_size(cfg, field: str, value: Optional[int], limit: int = 2**64) -> None:
    if value is not None:
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < limit:
            raise _errors.ConfigError(-5, "%s must be an int in [0, %d), got %r" % (field, limit, value))
        setattr(cfg, field, value)
