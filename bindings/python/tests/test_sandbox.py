"""Sandbox against the test guest (tests/guests/simpleguest.c) in real VMs: every type both ways,
errors, host functions and their exceptions, output and logs, snapshots and files, interrupts,
threads."""
import logging
import os
import tempfile
import threading
import time
import unittest

import hyperlight as hl

from _util import guest_path, requires_kvm


@requires_kvm
class TestCalls(unittest.TestCase):
    def setUp(self):
        self.sb = hl.Sandbox(guest_path())
        self.addCleanup(self.sb.close)

    def test_every_type_both_ways(self):
        cases = [("Echo", ""), ("Echo", "h\u00e9llo \U0001f600"), ("EchoBytes", b""),
                 ("EchoBytes", b"\0\xff\x01" * 100), ("EchoFloat", 1.5), ("EchoDouble", -1e300),
                 ("EchoI32", -2**31), ("EchoI32", 2**31 - 1), ("EchoU32", 2**32 - 1),
                 ("EchoI64", -2**63), ("EchoU64", 2**64 - 1), ("EchoBool", True),
                 ("EchoBool", False)]
        for name, x in cases:
            with self.subTest(name=name, x=x):
                r = self.sb.call(name, x)
                self.assertEqual(r, x)
                self.assertIs(type(r), type(x))
        self.assertEqual(self.sb.call("EchoDouble", 2), 2.0)
        self.assertEqual(self.sb.call("SetByteArrayToZero", bytearray(b"abc")), b"\0\0\0")
        self.assertIsNone(self.sb.call("SetFloatGlobal", 0.5))
        self.assertEqual(self.sb.call("GetFloatGlobal"), 0.5)

    def test_many_arguments(self):
        self.assertEqual(self.sb.call("PrintElevenArgs", "a", 1, -2, "b", "c", True, False, 3, 4,
                                      5.5, 6.25),
                         "msg:a 1 -2 b c true false 3 4 5.500 6.250")
        self.assertEqual(self.sb.call("Sum16", *range(1, 17)), sum(i * i for i in range(1, 17)))

    def test_signature(self):
        self.assertEqual(self.sb.guest_function("PrintThreeArgs"),
                         ([hl.Type.STRING, hl.Type.I32, hl.Type.I64], hl.Type.STRING))
        with self.assertRaises(hl.FunctionNotFound):
            self.sb.guest_function("NoSuch")

    def test_argument_errors(self):
        with self.assertRaises(hl.ArgumentCountError) as cm:
            self.sb.call("EchoI32")
        self.assertIn("EchoI32 takes 1 argument (i32), got 0", cm.exception.detail)
        with self.assertRaises(hl.ArgumentTypeError) as cm:
            self.sb.call("EchoI32", 2**31)
        self.assertIn("out of range", cm.exception.detail)
        with self.assertRaises(hl.ArgumentTypeError):
            self.sb.call("EchoI32", "1")
        with self.assertRaises(hl.ArgumentTypeError):
            self.sb.call("Echo", "a\0b")
        with self.assertRaises(hl.FunctionNotFound) as cm:
            self.sb.call("NoSuchFunction")
        self.assertEqual(cm.exception.code, -10)
        self.assertEqual(self.sb.call("EchoI32", 7), 7)  # still usable

    def test_guest_failure_keeps_sandbox(self):
        with self.assertRaises(hl.GuestError) as cm:
            self.sb.call("Fail", "no cheese today")
        self.assertEqual(cm.exception.name, "HL_EGUEST")
        self.assertIn("no cheese today", cm.exception.detail)
        self.assertFalse(self.sb.poisoned)
        self.assertEqual(self.sb.call("Echo", "ok"), "ok")

    def test_abort_poisons_until_restore(self):
        snap = self.sb.snapshot()
        self.addCleanup(snap.close)
        with self.assertRaises(hl.GuestAborted) as cm:
            self.sb.call("GuestAbortWithMessage", 3, "out of cheese")
        self.assertEqual(cm.exception.abort_code, 3)
        self.assertIn("out of cheese", cm.exception.detail)
        self.assertTrue(self.sb.poisoned)
        with self.assertRaises(hl.Poisoned):
            self.sb.call("Echo", "x")
        self.sb.restore(snap)
        self.assertFalse(self.sb.poisoned)
        self.assertEqual(self.sb.call("Echo", "x"), "x")
        with self.assertRaises(hl.GuestAborted) as cm:
            self.sb.call("CallAbort")
        self.assertEqual(cm.exception.abort_code, 134)

    def test_faults(self):
        snap = self.sb.snapshot()
        self.addCleanup(snap.close)
        for name, args in [("ReadNull", ()), ("ExecuteOnStack", ()), ("WriteToText", ()),
                           ("StackOverflow", (0,)), ("Instruction", (0,))]:
            with self.subTest(name=name):
                with self.assertRaises(hl.GuestFault):
                    self.sb.call(name, *args)
                self.sb.restore(snap)
        with self.assertRaises(hl.GuestStackOverflow):
            self.sb.call("StackOverflow", 0)

    def test_core_files(self):
        with tempfile.TemporaryDirectory() as d:
            with hl.Sandbox(guest_path(), core_dir=d) as sb:
                with self.assertRaises(hl.GuestFault) as cm:
                    sb.call("ReadNull")
                cores = os.listdir(d)
                self.assertEqual(len(cores), 1)
                self.assertIn("(core file %s/%s)" % (d, cores[0]), str(cm.exception))
                live = os.path.join(d, "live.core")
                sb.write_core(live)  # poisoned: the state the fault left
                with open(live, "rb") as f:
                    head = f.read(18)
                self.assertEqual(head[:4], b"\x7fELF")
                self.assertEqual(int.from_bytes(head[16:18], "little"), 4)  # ET_CORE
                with self.assertRaises(hl.HyperlightIOError):
                    sb.write_core(os.path.join(d, "no", "such", "dir"))

    def test_time_limit(self):
        with hl.Sandbox(guest_path(), time_limit_ms=200) as sb:
            t = time.monotonic()
            with self.assertRaises(hl.Timeout) as cm:
                sb.call("Spin")
            self.assertEqual(cm.exception.code, -18)
            self.assertLess(time.monotonic() - t, 30)
            self.assertTrue(sb.poisoned)

    def test_from_bytes_and_config(self):
        with open(guest_path(), "rb") as f:
            elf = f.read()
        with hl.Sandbox(elf, heap_size=4 << 20, stack_size=1 << 20, input_size=1 << 20,
                        output_size=1 << 20, memory_limit=64 << 20) as sb:
            self.assertEqual(sb.call("LargeVar"), 300 * 1024)
            big = b"x" * (512 * 1024)
            self.assertEqual(sb.call("EchoBytes", big), big)
        with self.assertRaises(hl.ELFError):
            hl.Sandbox(b"not an elf at all" * 100)
        with self.assertRaises(hl.TooBig):
            self.sb.call("EchoBytes", b"x" * (128 * 1024))

    def test_reset_after_call(self):
        with hl.Sandbox(guest_path(), reset_after_call=True) as sb:
            self.assertEqual(sb.call("AddToStatic", 5), 5)
            self.assertEqual(sb.call("GetStatic"), 0)

    def test_closed(self):
        sb = hl.Sandbox(guest_path())
        sb.close()
        sb.close()
        self.assertTrue(sb.closed)
        with self.assertRaises(hl.Closed):
            sb.call("Echo", "x")
        self.assertFalse(sb.interrupt())


@requires_kvm
class TestHot(unittest.TestCase):
    """hot=True (docs/HOT.md): the same results, errors and recovery as a normal sandbox."""

    def test_calls_host_functions_output_and_snapshots(self):
        out = []
        host = {"HostEcho": (lambda s: s.upper(), [str], str)}
        with hl.Sandbox(guest_path(), hot=True, hot_spin_us=500, stdout=out.append,
                        functions=host) as sb:
            self.assertEqual(sb.call("Echo", "hot"), "hot")
            self.assertEqual(sb.call("CallHostEcho", "up"), "UP")
            self.assertEqual(sb.call("PrintOutput", "hello\n"), 6)
            self.assertEqual(b"".join(out), b"hello\n")
            snap = sb.snapshot()
            self.assertEqual(sb.call("AddToStatic", 5), 5)
            sb.restore(snap)
            self.assertEqual(sb.call("GetStatic"), 0)
            clone = hl.Sandbox.from_snapshot(snap, hot=True, functions=host)
            self.assertEqual(clone.call("CallHostEcho", "clone"), "CLONE")
            clone.close()
            snap.close()

    def test_time_limit_poisons_until_restore(self):
        with hl.Sandbox(guest_path(), hot=True, time_limit_ms=200) as sb:
            snap = sb.snapshot()
            with self.assertRaises(hl.Timeout):
                sb.call("Spin")
            self.assertTrue(sb.poisoned)
            sb.restore(snap)
            self.assertEqual(sb.call("Echo", "again"), "again")
            snap.close()

    def test_config_errors(self):
        for kw in [{"hot_spin_us": 0}, {"hot_spin_us": 10**7}, {"gdb_port": 1234}]:
            with self.subTest(kw=kw), self.assertRaises(hl.ConfigError):
                hl.Sandbox(guest_path(), hot=True, **kw)
        for kw in [{"hot": 1}, {"hot": True, "hot_spin_us": -1}]:
            with self.subTest(kw=kw), self.assertRaises(hl.ConfigError):
                hl.Sandbox(guest_path(), **kw)


@requires_kvm
class TestHostFunctions(unittest.TestCase):
    def test_types_from_annotations_and_explicit(self):
        seen = []

        def host_add(a: hl.I32, b: hl.I32) -> hl.I32:
            return a + b

        def all_types(*args):
            seen.append(args)
            return repr(args)

        with hl.Sandbox(guest_path()) as sb:
            sb.register("HostAdd", host_add)
            sb.register("HostAllTypes", all_types, params=["bool", "i32", "u32", "i64", "u64",
                                                           "f32", "f64", "string", "bytes"],
                        ret=str)

            @sb.register("HostEcho", params=[str], ret=str)
            def echo(s):
                return s

            sb.register("HostEchoBytes", lambda b: b[::-1], params=[bytes], ret=bytes)
            sb.register("HostEchoDouble", lambda d: d * 2, params=[float], ret=float)
            self.assertEqual(sb.call("CallHostAdd", 2, 40), 42)
            self.assertEqual(sb.call("CallHostEcho", "h\u00e9"), "h\u00e9")
            self.assertEqual(sb.call("CallHostEchoBytes", b"\0\1\2"), b"\2\1\0")
            self.assertEqual(sb.call("CallHostEchoDouble", 1.25), 2.5)
            want = (True, -1, 2**32 - 1, -2**63, 2**64 - 1, 1.5, 2.25, "s", b"\0\xff")
            self.assertEqual(sb.call("CallHostAllTypes", *want), repr(want))
            self.assertEqual(seen, [want])
            self.assertEqual(sb.call("CallHostMany", 50), 50)
            # deny by default
            self.assertIn("NoSuchHostFunction: rc=-5", sb.call("CallHostUnknown"))
            with self.assertRaises(hl.StateError):
                sb.register("Late", lambda: 1, params=[], ret=int)

    def test_exception_reaches_guest_as_host_error(self):
        def failing() -> str:
            raise ValueError("the host says no")

        def echo_raises(s: str) -> str:
            raise KeyError(s)

        with hl.Sandbox(guest_path(), functions={"HostFailing": failing,
                                                 "HostEcho": echo_raises}) as sb:
            self.assertEqual(sb.call("CallHostFailing"),
                             "HostFailing: rc=-4: ValueError: the host says no")
            with self.assertRaises(hl.GuestError) as cm:
                sb.call("CallHostEcho", "k")
            self.assertIn("KeyError", cm.exception.detail)
            self.assertIsInstance(cm.exception.__cause__, KeyError)
            self.assertEqual(sb.call("Echo", "fine"), "fine")

    def test_wrong_result_type(self):
        with hl.Sandbox(guest_path()) as sb:
            sb.register("HostAdd", lambda a, b: "not an int", params=["i32", "i32"], ret="i32")
            with self.assertRaises(hl.GuestError) as cm:
                sb.call("CallHostAdd", 1, 2)
            self.assertIn("expected i32, got str", cm.exception.detail)

    def test_duplicate(self):
        with hl.Sandbox(guest_path()) as sb:
            sb.register("HostAdd", lambda a, b: a + b, params=["i32", "i32"], ret="i32")
            with self.assertRaises(hl.AlreadyRegistered):
                sb.register("HostAdd", lambda a, b: a + b, params=["i32", "i32"], ret="i32")

    def test_reentry_is_refused(self):
        box = []

        def reenter() -> str:
            return box[0].call("Echo", "again")

        with hl.Sandbox(guest_path(), functions={"HostFailing": reenter}) as sb:
            box.append(sb)
            r = sb.call("CallHostFailing")
            self.assertIn("Busy", r)
            self.assertIn("own callbacks", r)
            self.assertEqual(sb.call("Echo", "after"), "after")

    def test_close_from_host_function(self):
        box = []

        def close() -> str:
            box[0].close()
            return "closed"

        sb = hl.Sandbox(guest_path(), functions={"HostFailing": close})
        box.append(sb)
        with self.assertRaises(hl.Cancelled) as cm:
            sb.call("CallHostFailing")
        self.assertIn("destroyed by one of its callbacks", cm.exception.detail)
        self.assertTrue(sb.closed)
        with self.assertRaises(hl.Closed):
            sb.call("Echo", "x")
        sb.close()  # again: nothing to do

    def test_close_from_host_function_during_init(self):
        box, closed = [], []

        def init_mode() -> hl.I32:
            box[0].close()
            closed.append(box[0].closed)
            return 0
        sb = hl.Sandbox(guest_path(), functions={"InitMode": init_mode})
        box.append(sb)
        with self.assertRaises(hl.Cancelled):
            sb.call("Echo", "x")  # the implicit init is cancelled; the call never runs
        self.assertEqual(closed, [True])  # closed at once, inside the callback
        self.assertTrue(sb.closed)
        with self.assertRaises(hl.Closed):
            sb.snapshot()


@requires_kvm
class TestOutputAndLogs(unittest.TestCase):
    def test_stdout_stderr(self):
        out, err, both = [], [], []
        with hl.Sandbox(guest_path(), stdout=out.append, stderr=err.append,
                        output=lambda s, b: both.append((s, b))) as sb:
            self.assertEqual(sb.call("PrintOutput", "hello\n"), 6)
            self.assertEqual(sb.call("WriteStream", 2, "oops"), 4)
        self.assertEqual(b"".join(out), b"hello\n")
        self.assertEqual(b"".join(err), b"oops")
        self.assertEqual({s for s, _ in both}, {1, 2})

    def test_callback_exception_is_raised_after_the_call(self):
        seen = []

        def bad(data):
            seen.append(data)
            raise RuntimeError("writer broke")
        with hl.Sandbox(guest_path(), stdout=bad) as sb:
            with self.assertRaises(RuntimeError) as cm:
                sb.call("PrintOutput", "x\n")
            self.assertEqual(cm.exception.result, 2)  # the call completed: its result is kept
            self.assertEqual(b"".join(seen), b"x\n")
            self.assertEqual(sb.call("AddToStatic", 5), 5)  # no exception pending any more
            with self.assertRaises(RuntimeError) as cm:
                sb.call("PrintOutput", "y\n")
            self.assertEqual(sb.call("GetStatic"), 5)
            self.assertEqual(sb.call("Echo", "still fine"), "still fine")

    def test_log_callback_exception_during_init(self):
        def bad_log(rec):
            raise ValueError("logger broke on %r" % rec.message)
        fns = {"InitMode": (lambda: 3, [], "i32")}  # the guest's init logs a warning
        with hl.Sandbox(guest_path(), log=bad_log, functions=fns) as sb:
            with self.assertRaises(ValueError) as cm:
                sb.call("Echo", "the call after init")  # init, then the call, then the raise
            self.assertIn("init says hi", str(cm.exception))
            self.assertEqual(cm.exception.result, "the call after init")
            self.assertEqual(sb.call("Echo", "x"), "x")
        with hl.Sandbox(guest_path(), log=bad_log, functions=fns) as sb:
            with self.assertRaises(hl.GuestError) as cm:
                sb.call("Fail", "and then it failed")  # a failure: the exception is its cause
            self.assertIsInstance(cm.exception.__cause__, ValueError)
        with hl.Sandbox(guest_path(), log=bad_log, functions=fns) as sb:
            with self.assertRaises(hl.ArgumentCountError) as cm:
                sb.call("Echo")  # refused after init: the log's exception is its context
            self.assertIsInstance(cm.exception.__context__, ValueError)
            self.assertEqual(sb.call("Echo", "y"), "y")
        with hl.Sandbox(guest_path(), log=bad_log, functions=fns) as sb:
            with self.assertRaises(ValueError) as cm:
                sb.snapshot()  # init's log raised: the snapshot is taken all the same
            snap = cm.exception.result
            self.assertIsInstance(snap, hl.Snapshot)
            sb.call("AddToStatic", 1)
            sb.restore(snap)
            self.assertEqual(sb.call("GetStatic"), 0)
            snap.close()

    def test_close_from_output_and_log_callbacks(self):
        box = []

        def close_it(*_):
            box[0].close()
        for kw, fn, args in [({"stdout": close_it}, "PrintOutput", ("x\n",)),
                             ({"stderr": close_it}, "WriteStream", (2, "e")),
                             ({"log": close_it}, "LogMessage", ("bye", 3))]:
            with self.subTest(kw=list(kw)):
                box[:] = [hl.Sandbox(guest_path(), **kw)]
                self.assertEqual(box[0].call("Echo", "before"), "before")
                with self.assertRaises(hl.Cancelled):
                    box[0].call(fn, *args)
                self.assertTrue(box[0].closed)
                self.assertFalse(box[0].interrupt())

    def test_logs_to_callable_and_logging(self):
        recs = []
        with hl.Sandbox(guest_path(), log=recs.append, log_level="debug") as sb:
            sb.call("LogMessage", "hi there", 3)
            sb.call("LogMessage", "verbose", 5)  # above debug: not sent
        self.assertEqual(len(recs), 1)
        self.assertEqual(recs[0].level, hl.LogLevel.INFO)
        self.assertEqual(recs[0].message, "hi there")
        self.assertTrue(recs[0].file.endswith("simpleguest.c"), recs[0].file)
        self.assertGreater(recs[0].line, 0)
        lg = logging.getLogger("hyperlight.guest.test")
        with self.assertLogs(lg, "WARNING") as cm:
            with hl.Sandbox(guest_path(), log=lg) as sb:
                sb.call("LogMessage", "careful", 2)
        self.assertEqual(cm.records[0].getMessage(), "careful")


@requires_kvm
class TestSnapshots(unittest.TestCase):
    def test_snapshot_restore_save_load(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "s.hls")
            with hl.Sandbox(guest_path()) as sb:
                sb.call("AddToStatic", 10)
                with sb.snapshot() as snap:
                    sb.call("AddToStatic", 5)
                    self.assertEqual(sb.call("GetStatic"), 15)
                    sb.restore(snap)
                    self.assertEqual(sb.call("GetStatic"), 10)
                    snap.save(path)
                    with hl.Sandbox.from_snapshot(snap) as clone:
                        self.assertEqual(clone.call("AddToStatic", 1), 11)
                    self.assertEqual(sb.call("GetStatic"), 10)
            with hl.Snapshot.load(path) as loaded:
                with hl.Sandbox.from_snapshot(loaded, time_limit_ms=1000) as sb2:
                    self.assertEqual(sb2.call("GetStatic"), 10)
                    self.assertEqual(sb2.call("Echo", "from a file"), "from a file")
            with open(path, "r+b") as f:
                f.truncate(100)
            with self.assertRaises(hl.BadSnapshot):
                hl.Snapshot.load(path)
            with self.assertRaises(hl.HyperlightIOError):
                hl.Snapshot.load(os.path.join(d, "missing.hls"))

    def test_snapshot_with_host_functions(self):
        fns = {"HostAdd": (lambda a, b: a + b, ["i32", "i32"], "i32")}
        with hl.Sandbox(guest_path(), functions=fns) as sb:
            snap = sb.snapshot()
        with snap, hl.Sandbox.from_snapshot(snap, functions=fns) as clone:
            self.assertEqual(clone.call("CallHostAdd", 20, 22), 42)

    def test_mismatch(self):
        with hl.Sandbox(guest_path()) as a, hl.Sandbox(guest_path(), heap_size=2 << 20) as b:
            with a.snapshot() as snap:
                with self.assertRaises(hl.SnapshotMismatch):
                    b.restore(snap)

    def test_closed_snapshot(self):
        with hl.Sandbox(guest_path()) as sb:
            snap = sb.snapshot()
            snap.close()
            with self.assertRaises(hl.Closed):
                sb.restore(snap)


@requires_kvm
class TestThreads(unittest.TestCase):
    def spin_in_thread(self, sb):
        result = {}

        def run():
            try:
                sb.call("Spin")
            except BaseException as e:  # noqa: B036
                result["error"] = e
        t = threading.Thread(target=run)
        t.start()
        return t, result

    def wait_interrupt(self, sb):
        deadline = time.monotonic() + 60
        while not sb.interrupt():
            self.assertLess(time.monotonic(), deadline, "the call never started")
            time.sleep(0.01)

    def test_interrupt_from_another_thread(self):
        with hl.Sandbox(guest_path(), time_limit_ms=0) as sb:
            snap = sb.snapshot()
            t, result = self.spin_in_thread(sb)
            self.wait_interrupt(sb)
            t.join(60)
            self.assertFalse(t.is_alive())
            self.assertIsInstance(result.get("error"), hl.Cancelled)
            self.assertTrue(sb.poisoned)
            sb.restore(snap)
            self.assertEqual(sb.call("Echo", "back"), "back")
            snap.close()

    def test_concurrent_use_is_refused(self):
        with hl.Sandbox(guest_path(), time_limit_ms=0) as sb:
            t, result = self.spin_in_thread(sb)
            deadline = time.monotonic() + 60
            while not sb._guard.lock.locked():
                self.assertLess(time.monotonic(), deadline)
                time.sleep(0.005)
            with self.assertRaises(hl.Busy) as cm:
                sb.call("Echo", "x")
            self.assertIn("another thread", cm.exception.detail)
            self.wait_interrupt(sb)
            t.join(60)
            self.assertIsInstance(result.get("error"), hl.Cancelled)

    def test_close_from_another_thread_stops_the_call(self):
        sb = hl.Sandbox(guest_path(), time_limit_ms=0)
        t, result = self.spin_in_thread(sb)
        deadline = time.monotonic() + 60
        while not sb._guard.lock.locked():
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.005)
        time.sleep(0.05)
        sb.close()
        t.join(60)
        self.assertTrue(sb.closed)
        self.assertIsInstance(result.get("error"), hl.Cancelled)

    def test_created_on_one_thread_used_and_dropped_on_others(self):
        box, errors = [], []

        def make():
            box.append(hl.Sandbox(guest_path()))

        def use():
            try:
                self.assertEqual(box[0].call("AddToStatic", 2), 2)
            except BaseException as e:  # noqa: B036
                errors.append(e)

        def drop():
            box.pop().close()

        for f in (make, use, drop):
            t = threading.Thread(target=f)
            t.start()
            t.join()
        self.assertEqual(errors, [])
        self.assertEqual(box, [])

    def test_sandboxes_in_parallel(self):
        errors = []

        def work(i):
            try:
                with hl.Sandbox(guest_path()) as sb:
                    sb.register("HostEcho", lambda s: s.upper(), params=[str], ret=str)
                    for j in range(20):
                        self.assertEqual(sb.call("CallHostEcho", "t%d-%d" % (i, j)),
                                         "T%d-%d" % (i, j))
            except BaseException as e:  # noqa: B036
                errors.append(e)

        ts = [threading.Thread(target=work, args=(i,)) for i in range(4)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        self.assertEqual(errors, [])

    def test_one_snapshot_many_threads(self):
        with hl.Sandbox(guest_path()) as sb:
            sb.call("AddToStatic", 7)
            snap = sb.snapshot()
        errors = []

        def clone(i):
            try:
                for _ in range(5):
                    with hl.Sandbox.from_snapshot(snap) as c:
                        self.assertEqual(c.call("AddToStatic", i), 7 + i)
            except hl.Closed:
                pass  # the main thread closed the snapshot meanwhile: refused, not a crash
            except BaseException as e:  # noqa: B036
                errors.append(e)

        ts = [threading.Thread(target=clone, args=(i,)) for i in range(4)]
        for t in ts:
            t.start()
        time.sleep(0.05)
        snap.close()  # while the threads still use it: released after the last use
        for t in ts:
            t.join()
        self.assertEqual(errors, [])
        self.assertTrue(snap.closed)


if __name__ == "__main__":
    unittest.main()
