"""hyperlight: run untrusted guest code in KVM micro-VMs, from Python.

Pure Python over libhyperlight.so (and libhyperlight_js.so for JSSandbox) with ctypes::

    import hyperlight
    with hyperlight.Sandbox("guest.elf", time_limit_ms=1000) as sb:
        print(sb.call("Add", 2, 40))

The GIL is released while a guest runs (and re-taken for host functions and callbacks). See
README.md ("Python") and bindings/python/hyperlight/_lib.py for where the libraries are found.
"""
from typing import Optional

from . import _lib
from ._common import LogLevel, LogRecord, Snapshot, TRACE
from ._errors import (AlreadyRegistered, ArgumentCountError, ArgumentError, ArgumentTypeError,
                      BadSnapshot, Busy, Cancelled, Closed, ConfigError, ELFError,
                      FunctionNotFound, GuestAborted, GuestError, GuestFault, GuestStackOverflow,
                      HyperlightError, HyperlightIOError, InvalidArgument, JSError, KVMError,
                      KVMUnavailable, OutOfMemory, Poisoned, ProtocolError, SignalTaken,
                      SnapshotMismatch, StackCookieSmashed, StateError, Timeout, TooBig,
                      error_class)
from ._js import JSSandbox, js_available, js_missing
from ._lib import LibraryNotFound
from ._sandbox import Sandbox, Type, as_type

try:
    from ._sandbox import F32, F64, I32, I64, U32, U64
except ImportError:  # Python 3.8: no typing.Annotated
    pass

__version__ = "0.1.0"


def version() -> str:
    """The version of the libhyperlight actually loaded ("0.1.0")."""
    return _lib.lib().hl_version().decode()


def library_path() -> str:
    """The path libhyperlight was loaded from."""
    return _lib.lib()._hl_path


def kvm_available() -> bool:
    """Whether /dev/kvm can be used (kvm_unavailable_reason() says why not)."""
    return bool(_lib.lib().hl_kvm_available())


def kvm_unavailable_reason() -> Optional[str]:
    """Why KVM cannot be used, or None when it can."""
    L = _lib.lib()
    if L.hl_kvm_available():
        return None
    return L.hl_last_error().decode("utf-8", "replace") or "KVM is not available"


def vm_pool_set_size(n: int) -> None:
    """Keeps at most n (<= 256) destroyed sandboxes' VMs for reuse; 0 disables recycling."""
    _lib.lib().hl_vm_pool_set_size(n)


def vm_pool_drain() -> None:
    """Closes every pooled VM now (e.g. before counting file descriptors)."""
    _lib.lib().hl_vm_pool_drain()


__all__ = [
    "Sandbox", "JSSandbox", "Snapshot", "Type", "LogLevel", "LogRecord", "TRACE", "as_type",
    "I32", "U32", "I64", "U64", "F32", "F64",
    "version", "library_path", "kvm_available", "kvm_unavailable_reason", "js_available",
    "js_missing", "vm_pool_set_size", "vm_pool_drain", "error_class", "LibraryNotFound",
    "HyperlightError", "InvalidArgument", "OutOfMemory", "KVMUnavailable", "KVMError",
    "ConfigError", "ELFError", "HyperlightIOError", "StateError", "Busy", "Closed", "Poisoned",
    "FunctionNotFound", "ArgumentError", "ArgumentCountError", "ArgumentTypeError", "GuestError",
    "GuestAborted", "GuestFault", "GuestStackOverflow", "StackCookieSmashed", "Timeout",
    "ProtocolError", "TooBig", "AlreadyRegistered", "SignalTaken", "SnapshotMismatch",
    "BadSnapshot", "Cancelled", "JSError",
]
