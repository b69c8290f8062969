#!/usr/bin/env python3
"""Print every reference to a file of this tree that names a file the tree lacks.

Scans every tracked text file (docs, comments, scripts) for paths under the tree's
top-level directories that end in a file extension (docs/blk.md, tests/vm/x.sh,
supervisor/vm.c) and for bare Markdown names (DESIGN.md). A reference resolves if it
names a tracked file or directory, from the top or from the referring file's folder.
Skipped on purpose: paths without an extension (commands, module names, notations
like ring/pipe), prefixes (tests/vm/test_*), build outputs (.ko, .o, .so) and paths
quoted as another project's ("QEMU's docs/specs/...").
Exit status: 0 when nothing is missing, 1 otherwise.
"""
import os
import re
import subprocess
import sys

ROOTS = ("docs|tests|supervisor|driver-vm|client-vm|clients|ring|include|images|scripts|"
         "bench|tools|guest|examples|mk")
PATH = re.compile(r"(?<![\w/.$-])((?:" + ROOTS + r")/[A-Za-z0-9_./-]*\.[A-Za-z]+)\b")
MD = re.compile(r"(?<![\w/.-])([A-Za-z0-9_-]+\.md)\b")
FOREIGN = re.compile(r"(QEMU|Linux|Xen|kernel|upstream)'s\s+$")
SELF = "tests/lint/doc_refs.py"
BUILT = (".ko", ".o", ".so", ".a", ".png", ".svg")  # made by make or make bench
TEXT = (".md", ".c", ".h", ".sh", ".py", ".mk", ".ini", ".txt")


def main():
    files = subprocess.check_output(["git", "ls-files"], text=True).split()
    tracked = set(files)
    dirs = {os.path.dirname(f) for f in files}
    for d in list(dirs):
        while d:
            dirs.add(d)
            d = os.path.dirname(d)
    names = {os.path.basename(f) for f in files}
    missing = []
    for f in files:
        if not (f.endswith(TEXT) or f in ("Makefile", ".ci/run")) or f == SELF:
            continue  # (our own docstring's examples are not references)
        here = os.path.dirname(f)
        with open(f, encoding="utf-8", errors="replace") as fh:
            for ln, line in enumerate(fh, 1):
                for m in PATH.finditer(line):
                    p = m.group(1).rstrip(".")
                    if p.endswith(BUILT) or FOREIGN.search(line[:m.start()]):
                        continue
                    if any(q in tracked or q in dirs
                           for q in (p, os.path.normpath(os.path.join(here, p)))):
                        continue
                    missing.append(f"{f}:{ln}: {p}")
                for m in MD.finditer(line):
                    if m.group(1) not in names:
                        missing.append(f"{f}:{ln}: {m.group(1)}")
    for m in missing:
        print(m)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
