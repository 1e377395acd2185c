"""What the Python tests share: the test guest's path and skipping without KVM or JS."""
import os
import unittest

import hyperlight

_REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                      ".."))


def guest_path(name: str = "simpleguest.elf") -> str:
    """$HL_TEST_GUEST_DIR/name, by default build/guests/ of the repository (as for tests/kvm)."""
    d = os.environ.get("HL_TEST_GUEST_DIR") or "build/guests"
    if not os.path.isabs(d):
        d = os.path.join(_REPO, d)
    return os.path.join(d, name)


def _kvm_reason():
    try:
        return hyperlight.kvm_unavailable_reason()
    except hyperlight.LibraryNotFound as e:
        return str(e)


KVM_REASON = _kvm_reason()
requires_kvm = unittest.skipIf(KVM_REASON is not None, KVM_REASON or "")


def _js_reason():
    if KVM_REASON is not None:
        return KVM_REASON
    if not hyperlight.js_available():
        return "no JS guest: %s" % hyperlight.js_missing()
    return None


JS_REASON = _js_reason()
requires_js = unittest.skipIf(JS_REASON is not None, JS_REASON or "")


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def rss_kib() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * (os.sysconf("SC_PAGE_SIZE") // 1024)
