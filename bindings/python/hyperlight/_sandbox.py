"""Sandbox: a micro-VM running a guest ELF (hl_sandbox), its host functions and snapshots."""
import enum
import inspect
import os
import threading
import typing
import weakref
from ctypes import POINTER, byref, c_int, c_size_t, c_void_p, string_at
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

from . import _errors, _lib
from ._common import (Callbacks, Closable, Guard, Log, Output, Snapshot, finish, log_level, set_hot,
                      set_size)

try:
    from typing import Annotated
except ImportError:  # Python 3.8
    Annotated = None  # type: ignore


class Type(enum.IntEnum):
    """hl_type: the type of a value crossing the boundary."""
    VOID = 0
    BOOL = 1
    I32 = 2
    U32 = 3
    I64 = 4
    U64 = 5
    F32 = 6
    F64 = 7
    STRING = 8
    BYTES = 9


if Annotated is not None:
    # Annotations for host functions: def add(a: I32, b: I32) -> I32.
    I32 = Annotated[int, Type.I32]
    U32 = Annotated[int, Type.U32]
    I64 = Annotated[int, Type.I64]
    U64 = Annotated[int, Type.U64]
    F32 = Annotated[float, Type.F32]
    F64 = Annotated[float, Type.F64]

_NAMES = {"void": Type.VOID, "none": Type.VOID, "bool": Type.BOOL, "i32": Type.I32,
          "u32": Type.U32, "i64": Type.I64, "u64": Type.U64, "f32": Type.F32, "f64": Type.F64,
          "string": Type.STRING, "str": Type.STRING, "bytes": Type.BYTES}
_PY = {int: Type.I64, float: Type.F64, str: Type.STRING, bytes: Type.BYTES, bool: Type.BOOL,
       type(None): Type.VOID, None: Type.VOID}
TypeSpec = Union[Type, str, type, None]


def as_type(t: Any) -> Type:
    """A Type from a Type, its name ("i32", "string" ...), a Python type (int: i64, float: f64,
    str, bytes, bool, None: void) or an annotation such as I32."""
    if isinstance(t, Type):
        return t
    if isinstance(t, int) and not isinstance(t, bool):
        return Type(t)
    if isinstance(t, str):
        try:
            return _NAMES[t.lower()]
        except KeyError:
            raise _errors.ArgumentTypeError(-12, "unknown type name %r" % t) from None
    for m in getattr(t, "__metadata__", ()):
        if isinstance(m, Type):
            return m
    try:
        return _PY[t]
    except (KeyError, TypeError):
        raise _errors.ArgumentTypeError(-12, "no hyperlight type for %r" % (t,)) from None


_RANGES = {Type.I32: (-2**31, 2**31), Type.U32: (0, 2**32), Type.I64: (-2**63, 2**63),
           Type.U64: (0, 2**64)}
_FIELDS = {Type.BOOL: "b", Type.I32: "i32", Type.U32: "u32", Type.I64: "i64", Type.U64: "u64",
           Type.F32: "f32", Type.F64: "f64"}


def _arg_error(what: str, t: Type, x: Any, why: str = "") -> _errors.ArgumentTypeError:
    return _errors.ArgumentTypeError(
        -12, "%s: expected %s, got %s %r%s" % (what, t.name.lower(), type(x).__name__, x, why))


def to_value(v: "_lib.hl_value", t: Type, x: Any, what: str) -> Optional[bytes]:
    """Writes Python value x into v as type t (an ArgumentTypeError if it does not fit). For a
    string or bytes, returns the bytes v points to: the caller keeps them alive as long as v is
    used (ctypes keeps them only with v's own buffer, not with a view such as a pointer's [0])."""
    v.type = t
    if t in _RANGES:
        if not isinstance(x, int):
            raise _arg_error(what, t, x)
        lo, hi = _RANGES[t]
        if not lo <= x < hi:
            raise _arg_error(what, t, x, " (out of range)")
        setattr(v.as_, _FIELDS[t], x)
    elif t == Type.STRING:
        if not isinstance(x, str):
            raise _arg_error(what, t, x)
        b = x.encode("utf-8")
        if b"\0" in b:
            raise _arg_error(what, t, x, " (a string may not contain NUL)")
        v.as_.sin.ptr = b
        v.as_.sin.len = len(b)
        return b
    elif t == Type.BYTES:
        if not isinstance(x, (bytes, bytearray, memoryview)):
            raise _arg_error(what, t, x)
        b = bytes(x)
        v.as_.sin.ptr = b
        v.as_.sin.len = len(b)
        return b
    elif t in (Type.F32, Type.F64):
        if not isinstance(x, (int, float)):
            raise _arg_error(what, t, x)
        setattr(v.as_, _FIELDS[t], float(x))
    elif t == Type.BOOL:
        if not isinstance(x, bool) and x not in (0, 1):
            raise _arg_error(what, t, x)
        v.as_.b = bool(x)
    elif t == Type.VOID:
        if x is not None:
            raise _arg_error(what, t, x)
    else:
        raise _arg_error(what, t, x, " (unknown type)")
    return None


def from_value(v: "_lib.hl_value") -> Any:
    """The Python value of v: int, float, bool, str, bytes or None."""
    t = v.type
    if t == 8:
        n = v.as_.str.len
        return string_at(v.as_.str.ptr, n).decode("utf-8", "replace") if n else ""
    if t == 9:
        n = v.as_.str.len
        return string_at(v.as_.str.ptr, n) if n else b""
    if t == 0:
        return None
    return getattr(v.as_, _FIELDS[Type(t)])


def _annotated_types(fn: Callable) -> Tuple[List[Type], Type]:
    try:
        hints = typing.get_type_hints(fn, include_extras=True)
    except TypeError:
        hints = typing.get_type_hints(fn)
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        raise _errors.ArgumentTypeError(-12, "%r has no signature: give params= and ret=" % fn)
    params = []
    for p in sig.parameters.values():
        if p.kind not in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            raise _errors.ArgumentTypeError(-12, "parameter %s of %r: only positional parameters"
                                            % (p.name, fn))
        if p.name not in hints:
            raise _errors.ArgumentTypeError(
                -12, "parameter %s of %r has no annotation: annotate it or give params="
                % (p.name, fn))
        params.append(as_type(hints[p.name]))
    if "return" not in hints and sig.return_annotation is inspect.Signature.empty:
        raise _errors.ArgumentTypeError(-12, "%r has no return annotation: annotate it or give "
                                        "ret=" % fn)
    return params, as_type(hints.get("return", None))


def _host_error_text(e: BaseException) -> bytes:
    text = "%s: %s" % (type(e).__name__, e) if str(e) else type(e).__name__
    return text.encode("utf-8", "replace").replace(b"\0", b"?")[:4096]


class Sandbox(Closable):
    """A guest ELF in its own micro-VM.

    Sandbox(guest) takes a path or the ELF's bytes, and keyword config: heap_size, stack_size,
    input_size, output_size, memory_limit (bytes), time_limit_ms (per call; 0: none),
    reset_after_call, log_level ("info" ...), log (a callable taking a LogRecord, a
    logging.Logger, or True for the logger "hyperlight.guest"), stdout and stderr (callables
    taking bytes, or streams), output (a callable taking (stream, bytes)), functions (host
    functions: {name: fn} or {name: (fn, params, ret)}), core_dir (a directory: a core file of
    the guest after each fault or abort, docs/DEBUGGING.md), gdb_port (wait for gdb on
    127.0.0.1:gdb_port before the guest's first instruction), hot (run the vCPU on a thread of
    its own and take calls through shared memory, docs/HOT.md) and hot_spin_us (how long each
    side of a hot sandbox spins before it parks; default 200).

    Host functions may be registered until the first call (or init()); the guest's init runs
    then. One thread at a time may use a sandbox (Busy otherwise); any thread may interrupt() it
    or close it, and so may its own host functions and callbacks (the running call then raises
    Cancelled). Use it as a context manager, or call close().

    An exception raised by a stdout, stderr, output or log callback does not stop the guest: the
    call (with the implicit init before it) completes, then that exception (the first one) is
    raised, with the call's return value as its attribute `result`. If the call fails anyway, its
    HyperlightError is raised with the callback's exception as __cause__."""

    def __init__(self, guest: Union[str, bytes, bytearray, memoryview, "os.PathLike[str]"], *,
                 heap_size: Optional[int] = None, stack_size: Optional[int] = None,
                 input_size: Optional[int] = None, output_size: Optional[int] = None,
                 memory_limit: Optional[int] = None, time_limit_ms: Optional[int] = None,
                 reset_after_call: bool = False, log_level: Union[None, int, str] = None,
                 log: Log = None, stdout: Output = None, stderr: Output = None,
                 output: Optional[Callable[[int, bytes], Any]] = None,
                 functions: Optional[Dict[str, Any]] = None,
                 core_dir: Optional["os.PathLike[str] | str"] = None, gdb_port: int = 0,
                 hot: bool = False, hot_spin_us: Optional[int] = None):
        self._ptr: Optional[int] = None
        cfg = self._config(time_limit_ms, reset_after_call, log_level, log, stdout, stderr,
                           output, core_dir, gdb_port, hot, hot_spin_us)
        set_size(cfg, "heap_size", heap_size)
        set_size(cfg, "stack_size", stack_size)
        set_size(cfg, "input_size", input_size)
        set_size(cfg, "output_size", output_size)
        set_size(cfg, "memory_limit", memory_limit)
        out = c_void_p()
        L = _lib.lib()
        if isinstance(guest, (bytes, bytearray, memoryview)):
            data = bytes(guest)
            rc = L.hl_sandbox_new_from_memory(byref(cfg), data, len(data), byref(out))
        else:
            rc = L.hl_sandbox_new(byref(cfg), os.fsencode(guest), byref(out))
        _errors.check(rc)
        self._adopt(out.value, functions)

    @classmethod
    def from_snapshot(cls, snap: Snapshot, *, time_limit_ms: Optional[int] = None,
                      reset_after_call: bool = False, log_level: Union[None, int, str] = None,
                      log: Log = None, stdout: Output = None, stderr: Output = None,
                      output: Optional[Callable[[int, bytes], Any]] = None,
                      functions: Optional[Dict[str, Any]] = None,
                      core_dir: Optional["os.PathLike[str] | str"] = None,
                      gdb_port: int = 0, hot: bool = False,
                      hot_spin_us: Optional[int] = None) -> "Sandbox":
        """A sandbox in the state of snap, sharing its memory copy-on-write (no guest init runs).
        Sizes come from the snapshot. If snap's guest had host functions, register the same ones
        (functions= or register()) before the first call."""
        self = cls.__new__(cls)
        self._ptr = None
        cfg = self._config(time_limit_ms, reset_after_call, log_level, log, stdout, stderr,
                           output, core_dir, gdb_port, hot, hot_spin_us)
        out = c_void_p()
        with snap._use() as p:
            _errors.check(_lib.lib().hl_sandbox_new_from_snapshot(byref(cfg), p, byref(out)))
        self._adopt(out.value, functions)
        return self

    def _config(self, time_limit_ms, reset_after_call, level, log, stdout, stderr, output,
                core_dir=None, gdb_port=0, hot=False, hot_spin_us=None):
        cfg = _lib.hl_config()
        _lib.lib().hl_config_init(byref(cfg))
        if core_dir is not None:
            self._core_dir = os.fsencode(core_dir)  # alive until the library has copied it
            cfg.core_dir = self._core_dir
        set_size(cfg, "gdb_port", gdb_port, 2**16)
        set_hot(cfg, hot, hot_spin_us)
        if time_limit_ms is not None:
            set_size(cfg, "time_limit_ms", time_limit_ms, 2**32)
        cfg.reset_after_call = bool(reset_after_call)
        lvl = log_level(level)
        if lvl is not None:
            cfg.log_level = lvl
        self._cb = Callbacks(stdout, stderr, output, log)
        cfg.output_fn, cfg.log_fn = self._cb.output_fn, self._cb.log_fn
        return cfg

    def _adopt(self, ptr: int, functions: Optional[Dict[str, Any]]) -> None:
        L = _lib.lib()
        self._L = L
        self._ptr = ptr
        self._guard = Guard("sandbox")
        self._hlock = threading.Lock()
        self._handle: Optional[int] = L.hl_sandbox_interrupt_handle(ptr)
        self._inited = False
        self._sigs: Dict[str, Tuple[bytes, Tuple[Type, ...], Type]] = {}
        self._host: Dict[str, Any] = {}  # name -> the C callback (kept alive with the sandbox)
        self._host_error: Optional[BaseException] = None
        for name, spec in (functions or {}).items():
            if isinstance(spec, tuple):
                self.register(name, spec[0], params=spec[1], ret=spec[2])
            else:
                self.register(name, spec)

    # ---- lifecycle ----
    def _enter(self) -> int:
        self._guard.enter()
        if self._ptr is None:
            self._guard.leave()
            raise _errors.Closed(-8, "sandbox is closed")
        return self._ptr

    def init(self) -> None:
        """Runs the guest's init now (otherwise the first call or snapshot does). Host functions
        can no longer be registered afterwards."""
        ptr = self._enter()
        try:
            self._init(ptr)
            self._finish(0)
        finally:
            self._guard.leave()

    def _init(self, ptr: int) -> None:
        """Runs init if it has not run: raises if it fails; a callback's exception waits for the
        end of the operation that ran it (_finish)."""
        if not self._inited:
            self._inited = True
            rc = self._L.hl_sandbox_init(ptr)
            if rc:
                self._finish(rc)
            if isinstance(self._host_error, Exception):
                self._host_error = None  # it reached the guest's init, which went on

    def _finish(self, rc: int, result: Any = None) -> Any:
        """Returns result, or raises what an operation whose last library call returned rc
        should raise (_common.finish)."""
        err = _errors.from_code(rc) if rc else None
        host_exc, self._host_error = self._host_error, None
        return finish(err, self._cb.take(), host_exc, result)

    def _abandon(self, e: BaseException) -> None:
        """An exception of the bindings in the middle of an operation: what the callbacks and
        host functions had raised becomes its __context__ rather than waiting for the next one."""
        self._cb.chain(e)
        self._host_error = None

    def close(self) -> None:
        """Destroys the sandbox (idempotent). From another thread while a call runs, it interrupts
        that call and waits for it to end. From one of the sandbox's own host functions or
        callbacks, the sandbox is closed at once (closed is True, other methods raise) and the
        library frees it as the running call returns, which then raises Cancelled (the callback
        itself returns normally; what a host function returns is not used)."""
        if getattr(self, "_ptr", None) is None:
            return
        if self._guard.mine():
            ptr, self._ptr = self._ptr, None
            self._L.hl_sandbox_destroy(ptr)  # deferred by the library until the call returns
            self._release_handle()
            return
        while not self._guard.lock.acquire(timeout=0.01):
            self.interrupt()  # again until the call ends: it may not have entered the guest yet
        try:
            ptr, self._ptr = self._ptr, None
            if ptr:
                self._L.hl_sandbox_destroy(ptr)
            self._release_handle()
        finally:
            self._guard.lock.release()

    destroy = close

    def _release_handle(self) -> None:
        with self._hlock:
            h, self._handle = self._handle, None
        if h:
            self._L.hl_interrupt_release(h)

    def __del__(self):
        try:
            ptr = self.__dict__.get("_ptr")
            if ptr:
                self._ptr = None
                self._L.hl_sandbox_destroy(ptr)
            h = self.__dict__.get("_handle")
            if h:
                self._handle = None
                self._L.hl_interrupt_release(h)
        except Exception:
            pass

    @property
    def closed(self) -> bool:
        return self._ptr is None

    @property
    def poisoned(self) -> bool:
        """True after an abort, fault, time limit or interrupt, until restore()."""
        p = self._ptr
        return bool(p) and bool(self._L.hl_sandbox_is_poisoned(p))

    def interrupt(self) -> bool:
        """Stops the running call (it raises Cancelled and poisons the sandbox). Safe from any
        thread, also racing with the call's end or close(); True if a call was running."""
        with self._hlock:
            h = self._handle
            return bool(h) and bool(self._L.hl_interrupt(h))

    # ---- host functions ----
    def register(self, name: str, fn: Optional[Callable] = None, *,
                 params: Optional[Sequence[TypeSpec]] = None, ret: TypeSpec = "unset"):
        """Makes Python function fn callable by the guest as `name`, with parameter types params
        and return type ret (Type, "i32", int ...; from fn's annotations when not given).
        Without fn, returns a decorator. An exception raised by fn reaches the guest as a host
        error whose message is "ExceptionType: text" (and, if the guest call then fails, becomes
        that exception's __cause__)."""
        if fn is None:
            def deco(f):
                self.register(name, f, params=params, ret=ret)
                return f
            return deco
        if params is None or ret == "unset":
            ann_p, ann_r = _annotated_types(fn)
            ps = ann_p if params is None else [as_type(t) for t in params]
            rt = ann_r if ret == "unset" else as_type(ret)
        else:
            ps, rt = [as_type(t) for t in params], as_type(ret)
        cfn = _lib.HOST_FN(self._host_trampoline(fn, rt))
        arr = (c_int * max(len(ps), 1))(*[int(t) for t in ps])
        ptr = self._enter()
        try:
            if name in self._host:
                raise _errors.AlreadyRegistered(-21, "host function %r is already registered"
                                                % name)
            _errors.check(self._L.hl_sandbox_register(ptr, name.encode(), int(rt), arr, len(ps),
                                                      cfn, None))
            self._host[name] = cfn
        finally:
            self._guard.leave()
        return fn

    def _host_trampoline(self, fn: Callable, rt: Type) -> Callable:
        me = weakref.ref(self)
        keep: List[Optional[bytes]] = [None]  # the last result's bytes, until the library copied

        def trampoline(user, args, nargs, ret):
            sb = me()
            try:
                pyargs = [from_value(args[i]) for i in range(nargs)]
                r = fn(*pyargs)
                keep[0] = to_value(ret[0], rt, r, "result of host function")
                return 0
            except BaseException as e:  # noqa: B036 - nothing may unwind through C
                if sb is not None and sb._host_error is None:
                    sb._host_error = e
                try:
                    msg = _host_error_text(e)
                    v = ret[0]
                    v.type = Type.STRING
                    v.as_.sin.ptr = msg
                    v.as_.sin.len = len(msg)
                    keep[0] = msg
                except BaseException:  # noqa: B036
                    pass
                return 1
        return trampoline

    # ---- calls ----
    def guest_function(self, name: str) -> Tuple[List[Type], Type]:
        """The guest function's declared (parameter types, return type)."""
        ptr = self._enter()
        try:
            self._init(ptr)
            _, params, rt = self._signature(ptr, name)
            return self._finish(0, (list(params), rt))
        except BaseException as e:  # noqa: B036
            self._abandon(e)
            raise
        finally:
            self._guard.leave()

    def _signature(self, ptr: int, name: str) -> Tuple[bytes, Tuple[Type, ...], Type]:
        sig = self._sigs.get(name)
        if sig is None:
            rt, params, n = c_int(), POINTER(c_int)(), c_size_t()
            bname = name.encode("utf-8")
            _errors.check(self._L.hl_sandbox_guest_function(ptr, bname, byref(rt),
                                                            byref(params), byref(n)))
            sig = (bname, tuple(Type(params[i]) for i in range(n.value)), Type(rt.value))
            self._sigs[name] = sig
        return sig

    def call(self, name: str, *args: Any) -> Any:
        """Calls guest function `name`, converting args to its declared parameter types; returns
        its result as int, float, bool, str, bytes or None. Raises a HyperlightError subclass
        (GuestError, GuestAborted, Timeout, ...) on failure. If an output or log callback raised,
        the call completes and then that exception is raised, the result on it as `result`."""
        ptr = self._enter()
        try:
            if not self._inited:
                self._init(ptr)
            bname, params, _ = self._signature(ptr, name)
            n = len(args)
            if n != len(params):
                raise _errors.ArgumentCountError(
                    -11, "%s takes %d argument%s (%s), got %d" % (
                        name, len(params), "" if len(params) == 1 else "s",
                        ", ".join(t.name.lower() for t in params), n))
            arr = (_lib.hl_value * n)() if n else None
            keep = [to_value(arr[i], params[i], args[i], "%s argument %d" % (name, i + 1))
                    for i in range(n)]
            res = _lib.hl_value()
            rc = self._L.hl_sandbox_call(ptr, bname, arr, n, byref(res))
            del keep
            return self._finish(rc, from_value(res) if rc == 0 and self._ptr else None)
        except BaseException as e:  # noqa: B036
            self._abandon(e)
            raise
        finally:
            self._guard.leave()

    # ---- snapshots ----
    def snapshot(self) -> Snapshot:
        """Captures the sandbox now (after init; not poisoned); restores go back to it."""
        ptr = self._enter()
        try:
            self._init(ptr)
            out = c_void_p()
            rc = self._L.hl_sandbox_snapshot(ptr, byref(out))
            return self._finish(rc, Snapshot(out.value) if rc == 0 else None)
        except BaseException as e:  # noqa: B036
            self._abandon(e)
            raise
        finally:
            self._guard.leave()

    def write_core(self, path: "os.PathLike[str] | str") -> None:
        """Writes an ELF core file of the guest to path (gdb GUEST.elf path opens it): also on a
        poisoned sandbox, where it shows the state the fault left."""
        ptr = self._enter()
        try:
            _errors.check(self._L.hl_sandbox_write_core(ptr, os.fsencode(path)))
        finally:
            self._guard.leave()

    def restore(self, snap: Snapshot) -> None:
        """Brings the sandbox back to snap's state (also after a failed call: clears poisoning)."""
        ptr = self._enter()
        try:
            self._init(ptr)
            with snap._use() as p:
                rc = self._L.hl_sandbox_restore(ptr, p)
            if rc == 0:
                self._sigs.clear()
            self._finish(rc)
        except BaseException as e:  # noqa: B036
            self._abandon(e)
            raise
        finally:
            self._guard.leave()
