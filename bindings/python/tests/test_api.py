"""Tests that need no KVM: types, value conversion, error classes, config checks, library lookup."""
import importlib.util
import io
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
from unittest import mock

import hyperlight as hl
from hyperlight import _lib, _sandbox

from _util import guest_path


class TestTypes(unittest.TestCase):
    def test_as_type(self):
        self.assertEqual(hl.as_type("i32"), hl.Type.I32)
        self.assertEqual(hl.as_type("String"), hl.Type.STRING)
        self.assertEqual(hl.as_type(int), hl.Type.I64)
        self.assertEqual(hl.as_type(float), hl.Type.F64)
        self.assertEqual(hl.as_type(bool), hl.Type.BOOL)
        self.assertEqual(hl.as_type(None), hl.Type.VOID)
        self.assertEqual(hl.as_type(bytes), hl.Type.BYTES)
        self.assertEqual(hl.as_type(hl.U32), hl.Type.U32)
        self.assertEqual(hl.as_type(hl.F32), hl.Type.F32)
        with self.assertRaises(hl.ArgumentTypeError):
            hl.as_type("int128")
        with self.assertRaises(hl.ArgumentTypeError):
            hl.as_type(list)

    def test_annotations(self):
        def f(a: hl.I32, b: str, c: bytes, d: bool, e: float) -> hl.U64:
            return 0
        self.assertEqual(_sandbox._annotated_types(f),
                         ([hl.Type.I32, hl.Type.STRING, hl.Type.BYTES, hl.Type.BOOL,
                           hl.Type.F64], hl.Type.U64))

        def g(a: int) -> None:
            pass
        self.assertEqual(_sandbox._annotated_types(g), ([hl.Type.I64], hl.Type.VOID))

        def h(a):
            return a
        with self.assertRaises(hl.ArgumentTypeError):
            _sandbox._annotated_types(h)

    def roundtrip(self, t, x):
        v = _lib.hl_value()
        _sandbox.to_value(v, t, x, "x")
        return _sandbox.from_value(v)

    def test_values_both_ways(self):
        T = hl.Type
        cases = [(T.BOOL, True), (T.BOOL, False), (T.I32, -2**31), (T.I32, 2**31 - 1),
                 (T.U32, 0), (T.U32, 2**32 - 1), (T.I64, -2**63), (T.I64, 2**63 - 1),
                 (T.U64, 2**64 - 1), (T.F32, 1.5), (T.F64, 1e300), (T.STRING, ""),
                 (T.STRING, "h\u00e9llo \U0001f600"), (T.BYTES, b""), (T.BYTES, b"\0\xff\x01"),
                 (T.VOID, None)]
        for t, x in cases:
            with self.subTest(t=t, x=x):
                self.assertEqual(self.roundtrip(t, x), x)
                self.assertIs(type(self.roundtrip(t, x)), type(x))
        self.assertEqual(self.roundtrip(T.F64, 3), 3.0)
        self.assertEqual(self.roundtrip(T.BYTES, bytearray(b"ab")), b"ab")
        self.assertEqual(self.roundtrip(T.BYTES, memoryview(b"cd")), b"cd")

    def test_values_refused(self):
        T = hl.Type
        for t, x in [(T.I32, 2**31), (T.I32, -2**31 - 1), (T.U32, -1), (T.U64, 2**64),
                     (T.I64, 2**63), (T.I32, 1.5), (T.I32, "1"), (T.F64, "1.0"), (T.STRING, b"x"),
                     (T.STRING, "a\0b"), (T.BYTES, "x"), (T.BOOL, 2), (T.VOID, 0)]:
            with self.subTest(t=t, x=x):
                with self.assertRaises(hl.ArgumentTypeError) as cm:
                    self.roundtrip(t, x)
                self.assertEqual(cm.exception.code, -12)
                self.assertEqual(cm.exception.name, "HL_EARGTYPE")
                self.assertIsInstance(cm.exception, TypeError)


class TestErrors(unittest.TestCase):
    def test_every_code_has_its_class(self):
        L = _lib.lib()
        for code in range(-1, -26, -1):
            cls = hl.error_class(code)
            self.assertIsNot(cls, hl.HyperlightError, code)
            self.assertEqual(cls.code, code)
            e = cls(code, "detail %d" % code)
            self.assertEqual(e.name, L.hl_errname(code).decode())
            self.assertEqual(e.detail, "detail %d" % code)
            self.assertIn(e.name, str(e))
        self.assertIs(hl.error_class(-999), hl.HyperlightError)
        self.assertEqual(hl.HyperlightError(-999).name, "HL_E?")

    def test_named_classes(self):
        self.assertIs(hl.error_class(-14), hl.GuestAborted)
        self.assertIs(hl.error_class(-15), hl.GuestFault)
        self.assertIs(hl.error_class(-18), hl.Timeout)
        self.assertIs(hl.error_class(-25), hl.Cancelled)
        self.assertIs(hl.error_class(-9), hl.Poisoned)
        self.assertIs(hl.error_class(-10), hl.FunctionNotFound)
        self.assertTrue(issubclass(hl.error_class(-11), hl.ArgumentError))
        self.assertTrue(issubclass(hl.error_class(-12), hl.ArgumentError))
        self.assertTrue(issubclass(hl.JSError, hl.GuestError))
        self.assertTrue(issubclass(hl.Busy, hl.StateError))
        self.assertTrue(issubclass(hl.Timeout, TimeoutError))

    def test_finish_keeps_the_result(self):
        from hyperlight._common import finish
        self.assertEqual(finish(None, None, None, 42), 42)
        self.assertEqual(finish(None, None, ValueError("reached the guest"), 42), 42)
        cb = RuntimeError("callback")
        with self.assertRaises(RuntimeError) as cm:
            finish(None, cb, ValueError("reached the guest"), "the result")
        self.assertIs(cm.exception, cb)
        self.assertEqual(cm.exception.result, "the result")
        stop = KeyboardInterrupt()
        with self.assertRaises(KeyboardInterrupt) as cm:
            finish(None, RuntimeError("callback"), stop, 7)
        self.assertEqual(cm.exception.result, 7)
        err = hl.GuestError(-13, "failed")
        with self.assertRaises(hl.GuestError) as cm:
            finish(err, cb, None)
        self.assertIs(cm.exception.__cause__, cb)
        with self.assertRaises(KeyboardInterrupt):
            finish(err, None, stop)

    def test_abort_code(self):
        self.assertEqual(hl.GuestAborted(-14, "guest aborted (code 3): out of cheese").abort_code, 3)
        self.assertEqual(hl.GuestAborted(-14, "guest aborted (code -7)").abort_code, -7)
        self.assertIsNone(hl.GuestAborted(-14, "guest aborted").abort_code)


class TestConfig(unittest.TestCase):
    def test_config_checked_before_kvm(self):
        with self.assertRaises(hl.ConfigError) as cm:
            hl.Sandbox(guest_path(), heap_size=1)
        self.assertIn("heap_size", cm.exception.detail)
        with self.assertRaises(hl.ConfigError):
            hl.Sandbox(guest_path(), stack_size=-1)
        with self.assertRaises(hl.ConfigError):
            hl.Sandbox(guest_path(), time_limit_ms=2**32)  # would wrap in the uint32_t field
        with self.assertRaises(hl.ConfigError):
            hl.Sandbox(guest_path(), heap_size=2**64)
        with self.assertRaises(hl.ConfigError):
            hl.Sandbox(guest_path(), heap_size=True)
        with self.assertRaises(hl.ConfigError):
            hl.Sandbox(guest_path(), gdb_port=65536)
        with self.assertRaises(hl.ConfigError):
            hl.Sandbox(guest_path(), core_dir="")  # the library's check: NULL means none

    def test_log_levels(self):
        from hyperlight._common import log_level
        self.assertEqual(log_level("debug"), 4)
        self.assertEqual(log_level("WARNING"), 2)
        self.assertEqual(log_level(hl.LogLevel.TRACE), 5)
        with self.assertRaises(ValueError):
            log_level("loud")

    def test_writers(self):
        from hyperlight._common import writer, logger_fn
        s = io.StringIO()
        writer(s)(b"caf\xc3\xa9 \xff")
        self.assertEqual(s.getvalue(), "caf\u00e9 \ufffd")
        b = io.BytesIO()
        writer(b)(b"\0\xff")
        self.assertEqual(b.getvalue(), b"\0\xff")
        got = []
        writer(got.append)(b"x")
        self.assertEqual(got, [b"x"])
        with self.assertRaises(TypeError):
            writer(42)
        lg = logging.getLogger("hyperlight.test")
        with self.assertLogs(lg, "WARNING") as cm:
            logger_fn(lg)(hl.LogRecord(hl.LogLevel.WARN, "careful", "g.c", 3))
        self.assertEqual(cm.records[0].getMessage(), "careful")
        self.assertEqual(cm.records[0].guest_line, 3)

    def test_kvm_reason(self):
        if hl.kvm_available():
            self.assertIsNone(hl.kvm_unavailable_reason())
        else:
            self.assertTrue(hl.kvm_unavailable_reason())
            with self.assertRaises(hl.KVMUnavailable):
                hl.Sandbox(guest_path())


class TestLibrary(unittest.TestCase):
    def test_version(self):
        self.assertEqual(hl.version(), "%d.%d.%d" % tuple(
            int(x) for x in hl.__version__.split(".")))
        self.assertTrue(os.path.exists(hl.library_path()))

    def test_env_var_names_a_missing_library(self):
        pkg_parent = os.path.dirname(os.path.dirname(os.path.abspath(hl.__file__)))
        env = dict(os.environ, HYPERLIGHT_LIB="/nonexistent/libhyperlight.so",
                   PYTHONPATH=pkg_parent)
        code = ("import hyperlight\n"
                "try:\n    hyperlight.version()\n"
                "except hyperlight.LibraryNotFound as e:\n    print('missing', e)\n")
        out = subprocess.run([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, check=True).stdout.decode()
        self.assertIn("missing", out)
        self.assertIn("/nonexistent/libhyperlight.so", out)



def _load_install_py():
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "install.py")
    spec = importlib.util.spec_from_file_location("hl_install_py", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class TestInstall(unittest.TestCase):
    """bindings/python/install.py, which make install runs (make install-python)."""

    def test_site_directory_for_the_prefix(self):
        inst = _load_install_py()
        debian = ["/usr/local/lib/python3.11/dist-packages", "/usr/lib/python3/dist-packages",
                  "/usr/lib/python3.11/dist-packages"]
        with mock.patch.object(inst.site, "getsitepackages", return_value=debian), \
                mock.patch.object(inst.sysconfig, "get_paths",
                                  return_value={"purelib": debian[0]}):
            self.assertEqual(inst.site_dir("/usr/local"), debian[0])
            self.assertEqual(inst.site_dir("/usr/local/"), debian[0])
            self.assertEqual(inst.site_dir("/usr"), debian[1])
        with mock.patch.object(inst.site, "getsitepackages", return_value=debian):
            opt = inst.site_dir("/opt/hl")  # no site directory of this Python there
        self.assertEqual(opt, "/opt/hl/lib/python%d.%d/site-packages" % sys.version_info[:2])

    def test_installed_package_finds_the_installed_libraries(self):
        inst = _load_install_py()
        with tempfile.TemporaryDirectory() as root:
            out = io.StringIO()
            with mock.patch("sys.stdout", out):
                self.assertEqual(inst.main(["--prefix", "/opt/hl", "--root", root]), 0)
            site_dir = root + inst.site_dir("/opt/hl")
            self.assertIn("installed hyperlight %s into %s" % (hl.__version__, site_dir),
                          out.getvalue())
            src = os.path.dirname(os.path.abspath(hl.__file__))
            for f in os.listdir(src):
                if f.endswith(".py"):
                    with open(os.path.join(src, f), "rb") as a, \
                            open(os.path.join(site_dir, "hyperlight", f), "rb") as b:
                        self.assertEqual(a.read(), b.read(), f)
            info = os.path.join(site_dir, "hyperlight-%s.dist-info" % hl.__version__)
            with open(os.path.join(info, "RECORD")) as f:
                recorded = {line.split(",")[0] for line in f.read().split()}
            self.assertIn("hyperlight/_lib.py", recorded)
            self.assertIn("hyperlight/py.typed", recorded)
            libdir = os.path.join(root, "opt", "hl", "lib")
            shutil.copyfile(hl.library_path(), os.path.join(libdir, "libhyperlight.so.0"))
            js = _lib.jslib()._hl_path if hl.js_available() else None
            if js:
                shutil.copyfile(js, os.path.join(libdir, "libhyperlight_js.so.0"))
            env = {k: v for k, v in os.environ.items()
                   if not k.startswith("HYPERLIGHT_") and k != "PYTHONPATH"}
            env["PYTHONPATH"] = site_dir
            code = ("import importlib.metadata, hyperlight\n"
                    "from hyperlight import _lib\n"
                    "print(hyperlight.__file__)\n"
                    "print(hyperlight.library_path())\n"
                    "print(importlib.metadata.version('hyperlight'))\n"
                    "print(_lib.jslib()._hl_path if %r else '-')\n" % bool(js))
            lines = subprocess.run([sys.executable, "-c", code], env=env, cwd=root,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   check=True).stdout.decode().split("\n")
            self.assertEqual(lines[0], os.path.join(site_dir, "hyperlight", "__init__.py"))
            self.assertEqual(lines[1], os.path.join(libdir, "libhyperlight.so.0"))
            self.assertEqual(lines[2], hl.__version__)
            if js:
                self.assertEqual(lines[3], os.path.join(libdir, "libhyperlight_js.so.0"))
            # a second install replaces the first
            with mock.patch("sys.stdout", io.StringIO()):
                self.assertEqual(inst.main(["--prefix", "/opt/hl", "--root", root]), 0)
            self.assertEqual(sorted(os.listdir(site_dir)),
                             ["hyperlight", "hyperlight-%s.dist-info" % hl.__version__])


if __name__ == "__main__":
    unittest.main()
