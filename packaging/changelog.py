#!/usr/bin/python3
"""CHANGELOG.md (Keep a Changelog) -> a Debian changelog (deb-changelog(5)), newest first.

usage: changelog.py CHANGELOG.md OUT PACKAGE "Name <mail>"

"## [X.Y.Z] - YYYY-MM-DD" opens a version (dated noon UTC of that day, distribution
unstable); "## [X.Y.Z] - Unreleased" one with distribution UNRELEASED, dated now or by
SOURCE_DATE_EPOCH. "### Kind" opens a group; "- item" and its indented continuation
lines make one entry "* Kind: item". A malformed file gets "file:line: what is wrong"
and exit 2."""
import email.utils
import os
import re
import sys
import textwrap
import time
from datetime import datetime, timezone

VERSION = re.compile(r"^## \[([0-9][0-9A-Za-z.+~-]*)\] - (.*)$")


def fail(path, n, what):
    print(f"{path}:{n}: {what}", file=sys.stderr)
    sys.exit(2)


def stamp(path, n, when):
    if when == "Unreleased":
        t = int(os.environ.get("SOURCE_DATE_EPOCH", time.time()))
        return "UNRELEASED", email.utils.format_datetime(datetime.fromtimestamp(t, timezone.utc))
    try:
        day = datetime.strptime(when, "%Y-%m-%d").replace(hour=12, tzinfo=timezone.utc)
    except ValueError:
        fail(path, n, f"a version's date is YYYY-MM-DD or Unreleased, not {when!r}")
    return "unstable", email.utils.format_datetime(day)


def parse(path):
    versions, kind, entry = [], None, None
    for n, line in enumerate(open(path, encoding="utf-8"), 1):
        line = line.rstrip("\n")
        m = VERSION.match(line)
        if m:
            dist, date = stamp(path, n, m.group(2))
            versions.append({"version": m.group(1), "dist": dist, "date": date, "items": []})
            kind = entry = None
        elif line.startswith("## "):
            fail(path, n, "a version heading is '## [X.Y.Z] - YYYY-MM-DD' or '- Unreleased'")
        elif line.startswith("### ") and versions:
            kind = line[4:].strip()
        elif line.startswith("- ") and versions:
            if not kind:
                fail(path, n, "an entry before any '### Kind' heading of its version")
            entry = [kind, line[2:].strip()]
            versions[-1]["items"].append(entry)
        elif line.startswith("  ") and entry is not None and line.strip():
            entry[1] += " " + line.strip()
        elif not line.strip():
            entry = None
    if not versions:
        fail(path, 1, "no version section ('## [X.Y.Z] - YYYY-MM-DD')")
    return versions


def render(versions, package, maintainer):
    out = []
    for v in versions:
        out.append(f"{package} ({v['version']}) {v['dist']}; urgency=medium\n")
        for kind, text in v["items"] or [["Changed", "No notable change."]]:
            out.append(textwrap.fill(f"{kind}: {text}", width=78, initial_indent="  * ",
                                     subsequent_indent="    ", break_on_hyphens=False))
        out.append(f"\n -- {maintainer}  {v['date']}\n")
    return "\n".join(out)


def main(argv):
    if len(argv) != 5:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    text = render(parse(argv[1]), argv[3], argv[4])
    with open(argv[2], "w", encoding="utf-8") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
