"""Every command and subcommand: --help on stdout with exit 0, --version, a bad option's
usage on stderr with exit 2; renewlab --help lists every subcommand; the man pages."""
import os
import subprocess

import pytest

from harness_util import BUILD

BIN = os.path.join(BUILD, "bin")
SUBCOMMANDS = ["run", "list", "explain", "judge", "probe", "load"]
COMMANDS = [["renewlab"]] + [["renewlab", c] for c in SUBCOMMANDS] + [["mock-idp"], ["renew-adapter"]]


def call(argv, *args):
    return subprocess.run([os.path.join(BIN, argv[0]), *argv[1:], *args], capture_output=True,
                          text=True, timeout=30, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("argv", COMMANDS, ids=" ".join)
def test_help_version_and_a_bad_option(argv):
    h = call(argv, "--help")
    assert h.returncode == 0 and "usage" in h.stdout.lower() and h.stderr == "", h
    v = call(argv, "--version")
    words = v.stdout.split()
    assert v.returncode == 0 and words[:len(argv)] == argv and words[-1].count(".") == 2, v
    b = call(argv, "--no-such-option")
    assert b.returncode == 2 and "usage" in b.stderr.lower() and b.stdout == "", b


def test_renewlab_help_lists_every_subcommand():
    text = call(["renewlab"], "--help").stdout
    for c in SUBCOMMANDS:
        assert f"renewlab {c}" in text, c


@pytest.mark.parametrize("tool", ["renewlab", "mock-idp"])
def test_the_man_pages_are_built_from_the_help(tool):
    page = os.path.join(BUILD, "man", f"{tool}.1")
    assert os.path.exists(page), "help2man (make test installs it) builds build/man/*.1"
    text = open(page).read()
    assert text.startswith(".\\\" DO NOT MODIFY THIS FILE!") and f".TH {tool.upper()} \"1\"" in text
    assert "\\-\\-help" in text or "--help" in text
