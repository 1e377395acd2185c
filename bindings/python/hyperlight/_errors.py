"""Exceptions: one class per HL_E code (include/hyperlight/hyperlight.h), all HyperlightError."""
import re
from typing import Dict, Optional, Type

from . import _lib


class HyperlightError(Exception):
    """A failed library call. `code` is the negative HL_E code, `name` its name ("HL_EABORT"),
    `detail` the library's detail text (hl_last_error) of that failure."""

    code = 0

    def __init__(self, code: int, detail: str = "", name: Optional[str] = None):
        self.code = code
        self.name = name if name is not None else _errname(code)
        self.detail = detail
        super().__init__(detail or _strerror(code))

    def __str__(self) -> str:
        return "%s: %s" % (self.name, self.detail or _strerror(self.code))


def _errname(code: int) -> str:
    try:
        return _lib.lib().hl_errname(code).decode()
    except _lib.LibraryNotFound:
        return _NAMES.get(code, "HL_E?")


def _strerror(code: int) -> str:
    try:
        return _lib.lib().hl_strerror(code).decode()
    except _lib.LibraryNotFound:
        return "error %d" % code


def _cls(name, code, base, doc):
    cls = type(name, (base,), {"__doc__": doc, "code": code})
    return cls


class InvalidArgument(HyperlightError, ValueError):
    """HL_EINVAL: an invalid argument."""
    code = -1


class ArgumentError(HyperlightError, TypeError):
    """A call's arguments do not match the function's declared parameters (HL_EARGCOUNT or
    HL_EARGTYPE), found by the bindings or the library."""


class ArgumentCountError(ArgumentError):
    """HL_EARGCOUNT: wrong number of arguments."""
    code = -11


class ArgumentTypeError(ArgumentError):
    """HL_EARGTYPE: an argument of the wrong type, or out of its type's range."""
    code = -12


class ConfigError(HyperlightError, ValueError):
    """HL_ECONFIG: a configuration value out of range."""
    code = -5


class StateError(HyperlightError):
    """HL_ESTATE: not allowed in this sandbox state."""
    code = -8


class Busy(StateError):
    """The sandbox is in use by another thread (or called from its own callback)."""


class Closed(StateError):
    """The sandbox or snapshot was closed."""


class GuestError(HyperlightError):
    """HL_EGUEST: the guest function reported failure; the sandbox stays usable."""
    code = -13


class GuestAborted(HyperlightError):
    """HL_EABORT: the guest aborted; `abort_code` is its code (None if unknown)."""
    code = -14

    @property
    def abort_code(self) -> Optional[int]:
        m = re.search(r"\(code (-?\d+)\)", self.detail)
        return int(m.group(1)) if m else None


class GuestFault(HyperlightError):
    """HL_EFAULT: the guest faulted."""
    code = -15


class GuestStackOverflow(GuestFault):
    """HL_ESTACKOVERFLOW."""
    code = -16


class StackCookieSmashed(GuestFault):
    """HL_ECOOKIE."""
    code = -17


class Timeout(HyperlightError, TimeoutError):
    """HL_ETIMEOUT: the call ran past its time limit."""
    code = -18


class Cancelled(HyperlightError):
    """HL_ECANCELLED: the call was interrupted."""
    code = -25


class Poisoned(HyperlightError):
    """HL_EPOISONED: an earlier call failed; restore a snapshot to reuse the sandbox."""
    code = -9


class FunctionNotFound(HyperlightError, LookupError):
    """HL_ENOTFOUND: no such guest function (or no JS guest)."""
    code = -10


class JSError(GuestError):
    """A JavaScript exception (HL_EGUEST from a JS sandbox): `js_name` ("TypeError"),
    `message`, `stack`, `file`, `line`, `column` and `text` (the one-line form)."""


_SIMPLE = [
    ("OutOfMemory", -2, "HL_ENOMEM: out of memory."),
    ("KVMUnavailable", -3, "HL_ENOKVM: KVM is not available."),
    ("KVMError", -4, "HL_EKVM: a KVM operation failed."),
    ("ELFError", -6, "HL_EELF: a bad guest ELF."),
    ("HyperlightIOError", -7, "HL_EIO: an I/O error."),
    ("ProtocolError", -19, "HL_EPROTOCOL: the guest broke the host/guest protocol."),
    ("TooBig", -20, "HL_ETOOBIG: a value too big for its buffer."),
    ("AlreadyRegistered", -21, "HL_EEXIST: already registered."),
    ("SignalTaken", -22, "HL_ESIGNAL: the time-limit signal is taken by the application."),
    ("SnapshotMismatch", -23, "HL_EMISMATCH: the snapshot does not match this sandbox."),
    ("BadSnapshot", -24, "HL_ESNAPSHOT: a bad snapshot file."),
]
_BY_CODE: Dict[int, Type[HyperlightError]] = {}
for _name, _code, _doc in _SIMPLE:
    globals()[_name] = _cls(_name, _code, HyperlightError, _doc)
for _c in [InvalidArgument, ArgumentCountError, ArgumentTypeError, ConfigError, StateError,
           GuestError, GuestAborted, GuestFault, GuestStackOverflow, StackCookieSmashed, Timeout,
           Cancelled, Poisoned, FunctionNotFound] + [globals()[n] for n, _, _ in _SIMPLE]:
    _BY_CODE[_c.code] = _c

_NAMES = {-1: "HL_EINVAL", -2: "HL_ENOMEM", -3: "HL_ENOKVM", -4: "HL_EKVM", -5: "HL_ECONFIG",
          -6: "HL_EELF", -7: "HL_EIO", -8: "HL_ESTATE", -9: "HL_EPOISONED", -10: "HL_ENOTFOUND",
          -11: "HL_EARGCOUNT", -12: "HL_EARGTYPE", -13: "HL_EGUEST", -14: "HL_EABORT",
          -15: "HL_EFAULT", -16: "HL_ESTACKOVERFLOW", -17: "HL_ECOOKIE", -18: "HL_ETIMEOUT",
          -19: "HL_EPROTOCOL", -20: "HL_ETOOBIG", -21: "HL_EEXIST", -22: "HL_ESIGNAL",
          -23: "HL_EMISMATCH", -24: "HL_ESNAPSHOT", -25: "HL_ECANCELLED"}


def error_class(code: int) -> Type[HyperlightError]:
    """The exception class of an HL_E code (HyperlightError for an unknown one)."""
    return _BY_CODE.get(code, HyperlightError)


def from_code(code: int, detail: Optional[str] = None) -> HyperlightError:
    """The exception for `code`, with hl_last_error() as its detail unless one is given. Call it
    right after the failed call, on the same thread (the detail is per thread)."""
    if detail is None:
        detail = _lib.lib().hl_last_error().decode("utf-8", "replace")
    return error_class(code)(code, detail)


def check(code: int) -> None:
    if code != 0:
        raise from_code(code)
