"""ctypes declarations of include/hyperlight/hyperlight.h, value.h and js.h, and the library lookup.

Where the libraries are found, first match wins:
  1. $HYPERLIGHT_LIB (libhyperlight.so) and $HYPERLIGHT_JS_LIB (libhyperlight_js.so): full paths;
  2. $HYPERLIGHT_BUILD: a build directory (absolute, or relative to the repository root when the
     package runs from its source tree), e.g. build-vm: its lib/;
  3. the installed prefix: the lib/ directory this package is installed under (PREFIX/lib for
     PREFIX/lib/python3*/{site,dist}-packages/hyperlight, as make install puts it), the lib/ of
     this Python installation's prefix, /usr/local/lib and /usr/lib, and the dynamic linker's
     own search (ctypes.util.find_library);
  4. the build tree: build/lib of the repository this package sits in (bindings/python/hyperlight).
Nothing is loaded until first needed; a library that cannot be found raises LibraryNotFound.
"""
import ctypes
import ctypes.util
import os
import sys
import threading
from ctypes import (CFUNCTYPE, POINTER, Structure, Union, c_bool, c_char_p, c_double, c_float,
                    c_int, c_int32, c_int64, c_size_t, c_uint, c_uint8, c_uint16, c_uint32,
                    c_uint64, c_void_p)

# ---- value.h ----
class _Str(Structure):
    _fields_ = [("ptr", c_void_p), ("len", c_size_t)]


class _StrIn(Structure):
    # The same layout as _Str; assigning a bytes object to `ptr` keeps it alive with the value.
    _fields_ = [("ptr", c_char_p), ("len", c_size_t)]


class _As(Union):
    _fields_ = [("b", c_bool), ("i32", c_int32), ("u32", c_uint32), ("i64", c_int64),
                ("u64", c_uint64), ("f32", c_float), ("f64", c_double), ("str", _Str),
                ("sin", _StrIn)]


class hl_value(Structure):
    _fields_ = [("type", c_int), ("as_", _As)]


# ---- hyperlight.h ----
class hl_log_record(Structure):
    _fields_ = [("level", c_int), ("message", c_char_p), ("file", c_char_p), ("line", c_uint32)]


LOG_FN = CFUNCTYPE(None, c_void_p, POINTER(hl_log_record))
OUTPUT_FN = CFUNCTYPE(None, c_void_p, c_int, c_void_p, c_size_t)
HOST_FN = CFUNCTYPE(c_int, c_void_p, POINTER(hl_value), c_size_t, POINTER(hl_value))


class hl_config(Structure):
    _fields_ = [("stack_size", c_size_t), ("heap_size", c_size_t), ("input_size", c_size_t),
                ("output_size", c_size_t), ("time_limit_ms", c_uint32), ("log_level", c_int),
                ("log_fn", LOG_FN), ("log_user", c_void_p), ("reset_after_call", c_bool),
                ("memory_limit", c_size_t), ("output_fn", OUTPUT_FN), ("output_user", c_void_p),
                ("core_dir", c_char_p), ("gdb_port", c_uint16), ("hot", c_bool),
                ("reserved8", c_uint8), ("hot_spin_us", c_uint32),
                ("reserved", c_uint64 * 4)]


# ---- js.h ----
class hl_js_data(Structure):
    _fields_ = [("kind", c_int), ("data", c_void_p), ("len", c_size_t)]


class hl_js_error(Structure):
    _fields_ = [("code", c_int), ("name", c_char_p), ("message", c_char_p), ("stack", c_char_p),
                ("file", c_char_p), ("line", c_uint32), ("column", c_uint32), ("text", c_char_p)]


JS_HOST_FN = CFUNCTYPE(c_int, c_void_p, POINTER(hl_js_data), POINTER(hl_js_data), c_size_t,
                       c_void_p)


class hl_js_config(Structure):
    _fields_ = [("heap_size", c_size_t), ("stack_size", c_size_t), ("memory_limit", c_size_t),
                ("buffer_size", c_size_t), ("time_limit_ms", c_uint32),
                ("reset_after_call", c_bool), ("output_fn", OUTPUT_FN), ("output_user", c_void_p),
                ("log_fn", LOG_FN), ("log_user", c_void_p), ("log_level", c_int),
                ("core_dir", c_char_p), ("gdb_port", c_uint16), ("hot", c_bool),
                ("reserved8", c_uint8), ("hot_spin_us", c_uint32),
                ("reserved", c_uint64 * 4)]


_P = c_void_p  # every opaque handle
_PROTOS = {
    "hl_version": (c_char_p, []),
    "hl_version_number": (c_uint, []),
    "hl_strerror": (c_char_p, [c_int]),
    "hl_errname": (c_char_p, [c_int]),
    "hl_last_error": (c_char_p, []),
    "hl_config_init": (None, [POINTER(hl_config)]),
    "hl_sandbox_new": (c_int, [POINTER(hl_config), c_char_p, POINTER(_P)]),
    "hl_sandbox_new_from_memory": (c_int, [POINTER(hl_config), c_char_p, c_size_t, POINTER(_P)]),
    "hl_sandbox_register": (c_int, [_P, c_char_p, c_int, POINTER(c_int), c_size_t, HOST_FN, _P]),
    "hl_sandbox_init": (c_int, [_P]),
    "hl_sandbox_call": (c_int, [_P, c_char_p, POINTER(hl_value), c_size_t, POINTER(hl_value)]),
    "hl_sandbox_guest_function": (c_int, [_P, c_char_p, POINTER(c_int), POINTER(POINTER(c_int)),
                                          POINTER(c_size_t)]),
    "hl_sandbox_is_poisoned": (c_bool, [_P]),
    "hl_sandbox_destroy": (None, [_P]),
    "hl_sandbox_interrupt_handle": (_P, [_P]),
    "hl_interrupt": (c_bool, [_P]),
    "hl_interrupt_release": (None, [_P]),
    "hl_sandbox_snapshot": (c_int, [_P, POINTER(_P)]),
    "hl_sandbox_restore": (c_int, [_P, _P]),
    "hl_sandbox_write_core": (c_int, [_P, c_char_p]),
    "hl_sandbox_new_from_snapshot": (c_int, [POINTER(hl_config), _P, POINTER(_P)]),
    "hl_snapshot_release": (None, [_P]),
    "hl_snapshot_save": (c_int, [_P, c_char_p]),
    "hl_snapshot_load": (c_int, [c_char_p, POINTER(_P)]),
    "hl_vm_pool_set_size": (None, [c_uint]),
    "hl_vm_pool_drain": (None, []),
    "hl_kvm_available": (c_bool, []),
}
_JS_PROTOS = {
    "hl_js_available": (c_bool, []),
    "hl_js_guest_missing": (c_char_p, []),
    "hl_js_config_init": (None, [POINTER(hl_js_config)]),
    "hl_js_new": (c_int, [POINTER(hl_js_config), POINTER(_P)]),
    "hl_js_reply_json": (c_int, [_P, c_char_p, c_size_t]),
    "hl_js_reply_bytes": (c_int, [_P, c_char_p, c_size_t]),
    "hl_js_reply_error": (c_int, [_P, c_char_p]),
    "hl_js_register": (c_int, [_P, c_char_p, JS_HOST_FN, _P]),
    "hl_js_load_module": (c_int, [_P, c_char_p, c_char_p, c_size_t]),
    "hl_js_call": (c_int, [_P, c_char_p, c_char_p, POINTER(hl_js_data), POINTER(hl_js_data)]),
    "hl_js_eval": (c_int, [_P, c_char_p, c_size_t, POINTER(hl_js_data)]),
    "hl_js_last_error": (POINTER(hl_js_error), [_P]),
    "hl_js_snapshot": (c_int, [_P, POINTER(_P)]),
    "hl_js_restore": (c_int, [_P, _P]),
    "hl_js_new_from_snapshot": (c_int, [POINTER(hl_js_config), _P, POINTER(_P)]),
    "hl_js_interrupt": (c_bool, [_P]),
    "hl_js_sandbox": (_P, [_P]),
    "hl_js_destroy": (None, [_P]),
}


class LibraryNotFound(OSError):
    """libhyperlight.so (or libhyperlight_js.so) could not be found or loaded."""


_PKG_DIR = os.path.dirname(os.path.abspath(__file__))
_REPO = os.path.normpath(os.path.join(_PKG_DIR, "..", "..", ".."))


def _installed_libdir():
    """PREFIX/lib when this package is PREFIX/lib/pythonX[.Y]/{site,dist}-packages/hyperlight."""
    site = os.path.dirname(_PKG_DIR)
    py = os.path.dirname(site)
    if site.endswith("-packages") and os.path.basename(py).startswith("python"):
        return os.path.dirname(py)
    return None


def _candidates(env, build_env, name, soname):
    path = os.environ.get(env)
    if path:
        return [path]
    out = []
    build = os.environ.get("HYPERLIGHT_BUILD")
    if build:
        base = build if os.path.isabs(build) else os.path.join(_REPO, build)
        out.append(os.path.join(base, "lib", name))
    dirs = [_installed_libdir(), os.path.join(sys.prefix, "lib"), "/usr/local/lib", "/usr/lib"]
    for d in dict.fromkeys(d for d in dirs if d):
        out += [os.path.join(d, soname), os.path.join(d, name)]
    found = ctypes.util.find_library(name[3:-3])
    if found:
        out.append(found)
    out.append(os.path.join(_REPO, "build", "lib", name))
    return out


def _load(env, name, soname, protos):
    tried = []
    for path in _candidates(env, "HYPERLIGHT_BUILD", name, soname):
        if os.sep in path and not os.path.exists(path):
            tried.append(path + " (missing)")
            continue
        try:
            # RTLD_GLOBAL: libhyperlight_js.so needs libhyperlight.so.0, which the dynamic linker
            # then finds by its soname among the loaded libraries (the build tree has no such file).
            lib = ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
        except OSError as e:
            tried.append("%s (%s)" % (path, e))
            continue
        try:
            for fn, (res, args) in protos.items():
                f = getattr(lib, fn)
                f.restype, f.argtypes = res, args
        except AttributeError as e:
            tried.append("%s (%s)" % (path, e))
            continue
        lib._hl_path = path
        return lib
    raise LibraryNotFound("%s not found; set %s to its path. Tried: %s"
                          % (name, env, "; ".join(tried)))


_lock = threading.Lock()
_libs = {}


def lib():
    """libhyperlight, loaded at first use."""
    l = _libs.get("hl")
    if l is None:
        with _lock:
            l = _libs.get("hl")
            if l is None:
                l = _libs["hl"] = _load("HYPERLIGHT_LIB", "libhyperlight.so", "libhyperlight.so.0",
                                        _PROTOS)
    return l


def jslib():
    """libhyperlight_js, loaded at first use (after libhyperlight, which it links)."""
    l = _libs.get("js")
    if l is None:
        lib()
        with _lock:
            l = _libs.get("js")
            if l is None:
                l = _libs["js"] = _load("HYPERLIGHT_JS_LIB", "libhyperlight_js.so",
                                        "libhyperlight_js.so.0", _JS_PROTOS)
    return l
