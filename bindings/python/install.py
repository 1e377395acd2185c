#!/usr/bin/env python3
"""install.py: installs the hyperlight package (pure Python, nothing to build) for the Python
running this script, as make install does (mk/python.mk: make install-python), without pip or
network: the package's files and a hyperlight-VERSION.dist-info (METADATA, RECORD, INSTALLER), so
importlib.metadata sees it and `pip uninstall hyperlight` removes it.
  python3 bindings/python/install.py --prefix PREFIX [--root DESTDIR] [--dir SITE_DIR]
The directory is this Python's own site directory under PREFIX when it has one, as
site.getsitepackages() reports it (Debian's python3: PREFIX /usr/local gives
/usr/local/lib/python3.X/dist-packages, PREFIX /usr gives /usr/lib/python3/dist-packages);
otherwise PREFIX/lib/python3.X/site-packages, the posix_prefix layout (then on no sys.path
by itself: the script says so). --dir names another. --root stages the files under DESTDIR (the
directory is still chosen for PREFIX). The installed package finds the libraries in PREFIX/lib
(hyperlight/_lib.py)."""
import argparse
import base64
import hashlib
import os
import re
import shutil
import site
import sys
import sysconfig

HERE = os.path.dirname(os.path.abspath(__file__))


def site_dir(prefix):
    """This Python's site directory under prefix/lib, or the posix_prefix one."""
    lib = os.path.join(os.path.normpath(prefix), "lib") + os.sep
    dirs = list(site.getsitepackages()) if hasattr(site, "getsitepackages") else []
    dirs.append(sysconfig.get_paths()["purelib"])
    for d in dirs:
        if os.path.normpath(d).startswith(lib):
            return os.path.normpath(d)
    v = {"base": prefix, "platbase": prefix, "installed_base": prefix,
         "installed_platbase": prefix}
    return os.path.normpath(sysconfig.get_path("purelib", "posix_prefix", vars=v))


def project():
    """name, version, summary and requires-python from pyproject.toml (no TOML parser needed)."""
    with open(os.path.join(HERE, "pyproject.toml")) as f:
        text = f.read()
    body = text.split("[project]", 1)[1].split("\n[", 1)[0]

    def field(key):
        m = re.search(r'^%s\s*=\s*"([^"]*)"' % re.escape(key), body, re.M)
        return m.group(1) if m else ""
    return field("name"), field("version"), field("description"), field("requires-python")


def record_line(root_site, rel):
    with open(os.path.join(root_site, rel), "rb") as f:
        data = f.read()
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return "%s,sha256=%s,%d" % (rel, digest, len(data))


def main(argv):
    ap = argparse.ArgumentParser(description="install the hyperlight Python package")
    ap.add_argument("--prefix", required=True)
    ap.add_argument("--root", default="", help="stage under this directory (DESTDIR)")
    ap.add_argument("--dir", default="", help="the site directory (default: chosen for PREFIX)")
    a = ap.parse_args(argv)
    if sys.version_info < (3, 9):
        print("warning: hyperlight needs Python 3.9 or later; this is %s" % sys.version.split()[0])
    name, version, summary, requires = project()
    target = os.path.normpath(a.dir) if a.dir else site_dir(a.prefix)
    root_site = os.path.join(a.root, target.lstrip(os.sep)) if a.root else target
    pkg_src = os.path.join(HERE, name)
    files = sorted(f for f in os.listdir(pkg_src) if f.endswith(".py") or f == "py.typed")
    # What an earlier install left (this version or another) goes first, as pip does.
    shutil.rmtree(os.path.join(root_site, name), ignore_errors=True)
    for d in os.listdir(root_site) if os.path.isdir(root_site) else []:
        if re.match(r"^%s-[^-]+\.dist-info$" % re.escape(name), d):
            shutil.rmtree(os.path.join(root_site, d))
    os.makedirs(os.path.join(root_site, name))
    rels = []
    for f in files:
        rel = name + "/" + f
        shutil.copyfile(os.path.join(pkg_src, f), os.path.join(root_site, rel))
        os.chmod(os.path.join(root_site, rel), 0o644)
        rels.append(rel)
    info = "%s-%s.dist-info" % (name, version)
    os.makedirs(os.path.join(root_site, info))
    meta = {"METADATA": "Metadata-Version: 2.1\nName: %s\nVersion: %s\nSummary: %s\n"
                        "License: Apache-2.0\nRequires-Python: %s\n" % (name, version, summary,
                                                                        requires),
            "INSTALLER": "make\n", "top_level.txt": name + "\n"}
    for f, text in meta.items():
        with open(os.path.join(root_site, info, f), "w") as out:
            out.write(text)
        rels.append(info + "/" + f)
    lines = [record_line(root_site, r) for r in rels] + [info + "/RECORD,,"]
    with open(os.path.join(root_site, info, "RECORD"), "w") as out:
        out.write("\n".join(lines) + "\n")
    for d in (os.path.join(root_site, name), os.path.join(root_site, info)):
        os.chmod(d, 0o755)
    print("installed %s %s into %s%s" % (name, version, root_site,
                                         " (for %s)" % target if a.root else ""))
    if os.path.normpath(target) not in [os.path.normpath(p) for p in sys.path if p]:
        print("note: %s is not on %s's sys.path: use PYTHONPATH=%s" % (target, sys.executable,
                                                                       target))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
