"""Runbooks: one per alert or group of alerts, each with the same five sections, and every shell
command in them real: the executable exists, its subcommand exists (`<cmd> <sub> --help`
succeeds and names the subcommand), and every flag used is in that help text."""

from __future__ import annotations

import re
import shlex
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest

from pricing_pipeline_tests.monitoring._support import RUNBOOK_DIR, alert_rules, run, venv_bin

SECTIONS = ["Meaning", "Impact", "Diagnosis", "Resolution", "Verification"]
RUNBOOKS = sorted(p for p in RUNBOOK_DIR.glob("*.md") if p.name != "README.md")
SUBCOMMAND = re.compile(r"^[a-z][a-z-]*$")  # words only: arguments such as price_sync_schedule never match
HELP_ARGS = {"curl": ["--help", "all"]}
@pytest.mark.parametrize("path", RUNBOOKS, ids=[p.name for p in RUNBOOKS])
def test_runbook_has_the_five_sections_in_order(path):
    text = path.read_text()
    assert text.startswith("# "), "a title first"
    headings = re.findall(r"^## (.+)$", text, re.M)
    assert headings == SECTIONS, f"{path.name}: sections {headings}"
    for section, body in zip(SECTIONS, re.split(r"^## .+$", text, flags=re.M)[1:]):
        assert len(body.strip()) > 40, f"{path.name}: section {section} is empty"


def test_runbook_index_lists_every_runbook():
    index = (RUNBOOK_DIR / "README.md").read_text()
    for path in RUNBOOKS:
        assert f"]({path.name})" in index, path.name
    for rule in alert_rules():
        assert rule["alert"] in index or rule["alert"].startswith(("PricingSyncSuccessBudget", "PricingSyncDurationBudget",
                                                                   "PricingSyncFreshnessBudget", "PricingSyncAvailabilityBudget",
                                                                   "PricingWebserverUptimeBudget")), rule["alert"]


# ------------------------------------------------------------------------ shell commands


@dataclass(frozen=True)
class Command:
    executable: str
    path: tuple[str, ...]  # subcommands
    flags: tuple[str, ...]
    source: str  # runbook and line


def _bash_blocks(text: str) -> list[str]:
    return re.findall(r"^\s*```bash\n(.*?)^\s*```", text, re.M | re.S)


def _split_pipeline(line: str) -> list[list[str]]:
    lexer = shlex.shlex(line, posix=True, punctuation_chars="|&;")
    lexer.whitespace_split = True
    segments, current = [], []
    for token in lexer:
        if token in ("|", "||", "&&", ";", "&"):
            segments.append(current)
            current = []
        else:
            current.append(token)
    segments.append(current)
    return [s for s in segments if s]


def extract_commands(name: str, text: str) -> list[Command]:
    commands = []
    for block in _bash_blocks(text):
        block = re.sub(r"\\\n\s*", " ", block)  # continuation lines
        for line in block.splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            for tokens in _split_pipeline(line):
                while tokens and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", tokens[0]):
                    tokens = tokens[1:]  # VAR=value prefix
                exe, args = tokens[0], tokens[1:]
                path = []
                for arg in args:
                    if not SUBCOMMAND.match(arg):
                        break
                    path.append(arg)
                flags = []
                for arg in args:
                    if arg.startswith("--") and len(arg) > 2:
                        flags.append(arg.split("=", 1)[0])
                    elif re.fullmatch(r"-[A-Za-z]+", arg):
                        flags.extend(f"-{c}" for c in arg[1:])
                commands.append(Command(exe, tuple(path), tuple(flags), f"{name}: {line[:80]}"))
    return commands


ALL_COMMANDS = [c for p in RUNBOOKS for c in extract_commands(p.name, p.read_text())]
BY_PATH: dict[tuple[str, tuple[str, ...]], list[Command]] = defaultdict(list)
for _command in ALL_COMMANDS:
    BY_PATH[(_command.executable, _command.path)].append(_command)


def test_runbooks_have_commands_of_every_tool_family():
    executables = {c.executable for c in ALL_COMMANDS}
    assert {"pricing-pipeline", "dagster", "curl", "promtool", "amtool", "psql"} <= executables
    assert len(ALL_COMMANDS) >= 40


def test_the_extractor_understands_pipes_flags_and_subcommands():
    [a, b] = extract_commands("x", "```bash\ncurl -fsS http://h/metrics | grep -E '^pricing_'\n```\n")
    assert (a.executable, a.path, a.flags) == ("curl", (), ("-f", "-s", "-S"))
    assert (b.executable, b.flags) == ("grep", ("-E",))
    [c] = extract_commands("x", "```bash\ndagster schedule start price_sync_schedule -w workspace.yaml\n```\n")
    assert c.path == ("schedule", "start") and c.flags == ("-w",)
    [d] = extract_commands("x", "```bash\namtool silence add --alertmanager.url=http://h --duration=6h a=b\n```\n")
    assert d.path == ("silence", "add") and d.flags == ("--alertmanager.url", "--duration")


def _help(key: tuple[str, tuple[str, ...]]) -> tuple[str | None, int, str]:
    exe, path = key
    binary = venv_bin(exe)
    if binary is None:
        return None, -1, ""
    extra = HELP_ARGS.get(exe, ["--help"])
    result = run([binary, *path, *extra], timeout=60)
    return binary, result.returncode, result.stdout + result.stderr


@pytest.fixture(scope="module")
def helps():
    """Every distinct `<cmd> <subcommands> --help`, run in parallel (dagster's take ~1 s each)."""
    keys = sorted(BY_PATH)
    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip(keys, pool.map(_help, keys)))


@pytest.mark.parametrize("key", sorted(BY_PATH), ids=[" ".join([e, *p]) for e, p in sorted(BY_PATH)])
def test_runbook_command_exists_with_its_subcommands_and_flags(helps, key):
    exe, path = key
    binary, code, text = helps[key]
    sources = "; ".join(sorted({c.source for c in BY_PATH[key]}))
    if binary is None:
        pytest.fail(f"{exe} not found ({sources})")
    assert code == 0, f"{' '.join([exe, *path])} --help failed ({sources}):\n{text[-2000:]}"
    if path:
        usage = " ".join(text.split())  # click and kingpin wrap usage lines
        assert re.search(rf"(?i)usage: {re.escape(' '.join([exe, *path]))}\b", usage), (
            f"'{' '.join(path)}' is not a subcommand of {exe} ({sources})")
    for command in BY_PATH[key]:
        for flag in command.flags:
            assert re.search(rf"(?<![\w.-]){re.escape(flag)}(?![\w-])", text), (
                f"{flag} is not an option of {' '.join([exe, *path])} ({command.source})")
