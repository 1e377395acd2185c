"""JSSandbox: JavaScript (QuickJS) handlers in a micro-VM (libhyperlight_js, hl_js)."""
import json
import threading
import weakref
from ctypes import byref, c_void_p, string_at
from typing import Any, Callable, Dict, Optional, Union

from . import _errors, _lib
from ._common import (Callbacks, Closable, Guard, Log, Output, Snapshot, finish, log_level, set_hot,
                      set_size)

_Event = Any  # anything json.dumps takes, or bytes / bytearray / memoryview


def js_available() -> bool:
    """Whether libhyperlight_js can be loaded and has its JS guest (KVM is needed too)."""
    try:
        return bool(_lib.jslib().hl_js_available())
    except _lib.LibraryNotFound:
        return False


def js_missing() -> str:
    """Why JS sandboxes cannot be made here ("" when they can, KVM aside)."""
    try:
        j = _lib.jslib()
    except _lib.LibraryNotFound as e:
        return str(e)
    return j.hl_js_guest_missing().decode("utf-8", "replace")


def _decode_parts(x: Any, parts) -> Any:
    if isinstance(x, dict):
        if len(x) == 1 and "__bytes__" in x and isinstance(x["__bytes__"], int):
            return parts[x["__bytes__"]]
        return {k: _decode_parts(v, parts) for k, v in x.items()}
    if isinstance(x, list):
        return [_decode_parts(v, parts) for v in x]
    return x


def _s(p: Optional[bytes]) -> str:
    return (p or b"").decode("utf-8", "replace")


class JSSandbox(Closable):
    """A JavaScript sandbox: load ES modules, call their exported handlers with events.

    Keyword config: heap_size, stack_size, memory_limit (QuickJS's), buffer_size (bounds events,
    results and host-function data), time_limit_ms, reset_after_call (every call starts from the
    state right after loading), log_level, log, stdout/stderr/output (console.*), and functions
    ({name: fn}: host.<name>(...) in JS; fn gets the decoded arguments, Uint8Arrays as bytes, and
    returns something json.dumps takes, bytes, or None for undefined; an exception becomes a JS
    exception the script can catch), hot and hot_spin_us (as for Sandbox: docs/HOT.md). Events
    and results are JSON-mapped Python objects or
    bytes.

    As with Sandbox, an exception raised by an output or log callback is raised once the call
    has completed, with its result as the exception's attribute `result`; close() from a host
    function or callback makes the running call raise Cancelled and frees the sandbox after it."""

    def __init__(self, *, heap_size: Optional[int] = None, stack_size: Optional[int] = None,
                 memory_limit: Optional[int] = None, buffer_size: Optional[int] = None,
                 time_limit_ms: Optional[int] = None, reset_after_call: bool = False,
                 log_level: Union[None, int, str] = None, log: Log = None,
                 stdout: Output = None, stderr: Output = None,
                 output: Optional[Callable[[int, bytes], Any]] = None,
                 functions: Optional[Dict[str, Callable]] = None,
                 hot: bool = False, hot_spin_us: Optional[int] = None,
                 _snapshot: Optional[Snapshot] = None):
        self._ptr: Optional[int] = None
        self._doomed: Optional[int] = None  # closed from a callback: destroyed when the call ends
        J = _lib.jslib()
        cfg = _lib.hl_js_config()
        J.hl_js_config_init(byref(cfg))
        for f, v in (("heap_size", heap_size), ("stack_size", stack_size),
                     ("memory_limit", memory_limit), ("buffer_size", buffer_size),
                     ("time_limit_ms", time_limit_ms)):
            set_size(cfg, f, v, 2**32 if f == "time_limit_ms" else 2**64)
        cfg.reset_after_call = bool(reset_after_call)
        set_hot(cfg, hot, hot_spin_us)
        lv = _level(log_level)
        if lv is not None:
            cfg.log_level = lv
        self._cb = Callbacks(stdout, stderr, output, log)
        cfg.output_fn, cfg.log_fn = self._cb.output_fn, self._cb.log_fn
        out = c_void_p()
        if _snapshot is None:
            rc = J.hl_js_new(byref(cfg), byref(out))
        else:
            with _snapshot._use() as p:
                rc = J.hl_js_new_from_snapshot(byref(cfg), p, byref(out))
        if rc:
            raise self._error(rc, None)
        self._J = J
        self._ptr = out.value
        self._guard = Guard("JS sandbox")
        self._host: Dict[str, Any] = {}
        self._host_error: Optional[BaseException] = None
        self._hlock = threading.Lock()
        for name, fn in (functions or {}).items():
            self.register(name, fn)

    @classmethod
    def from_snapshot(cls, snap: Snapshot, **kw: Any) -> "JSSandbox":
        """A JS sandbox in the state of snap (from snapshot() or Snapshot.load), sharing its
        memory copy-on-write; register the same host functions (functions=) as its sandbox had."""
        return cls(_snapshot=snap, **kw)

    # ---- errors ----
    def _error(self, rc: int, ptr: Optional[int]) -> _errors.HyperlightError:
        J = _lib.jslib()
        e = J.hl_js_last_error(ptr)[0]
        detail = _s(e.text) or _s(_lib.lib().hl_last_error())
        cls = _errors.JSError if (rc == -13 and ptr is not None) else _errors.error_class(rc)
        err = cls(rc, detail)
        err.js_name, err.message, err.stack = _s(e.name), _s(e.message), _s(e.stack)
        err.file, err.line, err.column, err.text = _s(e.file), int(e.line), int(e.column), detail
        return err

    def _finish(self, rc: int, ptr: int, result: Any = None) -> Any:
        """Returns result, or raises what the operation that returned rc should raise
        (_common.finish); Cancelled whenever one of the sandbox's callbacks closed it."""
        if self._doomed is not None and rc in (0, -25):
            rc = -25
            err = self._error(rc, ptr)
            err.detail = err.text = ("the JS sandbox was closed by one of its callbacks during the "
                                     "call")
        else:
            err = self._error(rc, ptr) if rc else None
        host_exc, self._host_error = self._host_error, None
        return finish(err, self._cb.take(), host_exc, result)

    def _enter(self) -> int:
        self._guard.enter()
        if self._ptr is None:
            self._guard.leave()
            raise _errors.Closed(-8, "JS sandbox is closed")
        return self._ptr

    def _run(self, op: Callable[[int, Any], int]) -> Any:
        """One call or eval: op(ptr, byref(result)) runs it; returns its value or raises."""
        ptr = self._enter()
        try:
            res = _lib.hl_js_data()
            rc = op(ptr, byref(res))
            return self._finish(rc, ptr, self._result(res) if rc == 0 else None)
        except BaseException as e:  # noqa: B036
            self._cb.chain(e)  # e.g. a result json cannot decode
            raise
        finally:
            self._leave()

    def _leave(self) -> None:
        """The end of every operation: frees the sandbox if a callback closed it meanwhile (not
        earlier: hl_js_destroy from a callback would free what the running call still uses)."""
        p, self._doomed = self._doomed, None
        if p:
            self._J.hl_js_destroy(p)
        self._host_error = None  # (taken by _finish unless an exception went up instead)
        self._guard.leave()

    # ---- host functions ----
    def register(self, name: str, fn: Optional[Callable] = None):
        """Makes fn callable from JS as host.<name>(...) (before the first load or call). Without
        fn, returns a decorator."""
        if fn is None:
            def deco(f):
                self.register(name, f)
                return f
            return deco
        cfn = _lib.JS_HOST_FN(self._trampoline(fn))
        ptr = self._enter()
        try:
            _errors.check(self._J.hl_js_register(ptr, name.encode("utf-8"), cfn, None))
            self._host[name] = cfn
        finally:
            self._leave()
        return fn

    def _trampoline(self, fn: Callable) -> Callable:
        me = weakref.ref(self)
        J = self._J

        def trampoline(user, args, parts, nparts, reply):
            try:
                a = args[0]
                text = string_at(a.data, a.len) if a.len else b"[]"
                ps = [string_at(parts[i].data, parts[i].len) if parts[i].len else b""
                      for i in range(nparts)]
                pyargs = _decode_parts(json.loads(text), ps)
                r = fn(*pyargs)
                if r is None:
                    return 0
                if isinstance(r, (bytes, bytearray, memoryview)):
                    b = bytes(r)
                    rc = J.hl_js_reply_bytes(reply, b, len(b))
                else:
                    b = json.dumps(r, allow_nan=False).encode("utf-8")
                    rc = J.hl_js_reply_json(reply, b, len(b))
                if rc:
                    raise _errors.error_class(rc)(rc, "reply of host.%s: %s" % (
                        fn.__name__ if hasattr(fn, "__name__") else "?",
                        _s(_lib.lib().hl_last_error())))
                return 0
            except BaseException as e:  # noqa: B036 - nothing may unwind through C
                sb = me()
                if sb is not None and sb._host_error is None:
                    sb._host_error = e
                try:
                    msg = ("%s: %s" % (type(e).__name__, e) if str(e) else type(e).__name__)
                    J.hl_js_reply_error(reply, msg.encode("utf-8", "replace")
                                        .replace(b"\0", b"?")[:4096])
                except BaseException:  # noqa: B036
                    pass
                return 1
        return trampoline

    # ---- modules and calls ----
    def load_module(self, name: str, source: Union[str, bytes]) -> None:
        """Compiles source as the ES module `name` (its body runs at its first use)."""
        src = source.encode("utf-8") if isinstance(source, str) else bytes(source)
        ptr = self._enter()
        try:
            rc = self._J.hl_js_load_module(ptr, name.encode("utf-8"), src, len(src))
            self._finish(rc, ptr)
        finally:
            self._leave()

    @staticmethod
    def _result(d: "_lib.hl_js_data") -> Any:
        if d.kind == 1:
            return json.loads(string_at(d.data, d.len))
        if d.kind == 2:
            return string_at(d.data, d.len) if d.len else b""
        return None

    def call(self, module: Optional[str] = None, handler: Optional[str] = None,
             event: _Event = None) -> Any:
        """Calls export `handler` (default "handler") of `module` (default: the module loaded
        last) with event (JSON-mapped; bytes become a Uint8Array) and returns its result (JSON
        decoded; bytes for a typed array; None for undefined). A JS exception raises JSError. If
        an output or log callback raised, that exception is raised after the call, the result on
        it as `result`."""
        ev = _lib.hl_js_data()
        if isinstance(event, (bytes, bytearray, memoryview)):
            data = bytes(event)
            ev.kind = 2
        else:
            data = json.dumps(event, allow_nan=False).encode("utf-8")
            ev.kind = 1
        keep = _lib.c_char_p(data)
        ev.data = _lib.ctypes.cast(keep, c_void_p).value
        ev.len = len(data)
        m = module.encode("utf-8") if module is not None else None
        h = handler.encode("utf-8") if handler is not None else None
        return self._run(lambda ptr, res: self._J.hl_js_call(ptr, m, h, byref(ev), res))

    def eval(self, source: str) -> Any:
        """Evaluates source as a global script; returns its completion value like call()."""
        src = source.encode("utf-8")
        return self._run(lambda ptr, res: self._J.hl_js_eval(ptr, src, len(src), res))

    # ---- snapshots ----
    def snapshot(self) -> Snapshot:
        """A snapshot of the JS state now (every loaded module run first)."""
        ptr = self._enter()
        try:
            out = c_void_p()
            rc = self._J.hl_js_snapshot(ptr, byref(out))
            return self._finish(rc, ptr, Snapshot(out.value) if rc == 0 else None)
        finally:
            self._leave()

    def restore(self, snap: Snapshot) -> None:
        """Brings the sandbox back to snap (also after a time limit or interrupt)."""
        ptr = self._enter()
        try:
            with snap._use() as p:
                rc = self._J.hl_js_restore(ptr, p)
            self._finish(rc, ptr)
        finally:
            self._leave()

    # ---- lifecycle ----
    def interrupt(self) -> bool:
        """Stops the running call from any thread (it raises Cancelled)."""
        with self._hlock:
            p = self._ptr
            return bool(p) and bool(self._J.hl_js_interrupt(p))

    def close(self) -> None:
        """Frees the JS sandbox (idempotent); from another thread while a call runs, interrupts
        it and waits for it to end. From one of its own host functions or callbacks, the sandbox
        is closed at once (closed is True, other methods raise) and the running call is
        interrupted: it raises Cancelled, and the sandbox is freed as it returns (the callback
        itself returns normally; what a host function returns is not used)."""
        if getattr(self, "_ptr", None) is None:
            return
        if self._guard.mine():
            with self._hlock:
                ptr, self._ptr = self._ptr, None
            self._doomed = ptr
            self._J.hl_js_interrupt(ptr)  # the guest is not re-entered; _leave frees it
            return
        while not self._guard.lock.acquire(timeout=0.01):
            self.interrupt()  # again until the call ends: it may not have entered the guest yet
        try:
            with self._hlock:
                ptr, self._ptr = self._ptr, None
            if ptr:
                self._J.hl_js_destroy(ptr)
        finally:
            self._guard.lock.release()

    @property
    def closed(self) -> bool:
        return self._ptr is None

    def __del__(self):
        try:
            for f in ("_ptr", "_doomed"):
                ptr = self.__dict__.get(f)
                if ptr:
                    setattr(self, f, None)
                    self._J.hl_js_destroy(ptr)
        except Exception:
            pass


def _level(x):
    return log_level(x)
