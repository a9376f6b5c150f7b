"""Issue 28 item 4: change-to-live under a real daemon. How long from a provider changing a price
to the gateway's price book (``PriceBook.cost``) billing the new one, with the change watcher
(defs/watch) polling at a short interval; the requests it makes; and the runs it launches while
nothing changes.

    .venv/bin/python -m benchmarks.change_lag [--interval 15] [--changes 10] [--quiet-intervals 3]
        [--budget N] [--seed 28] [--postgres ADMIN_URL] [--keep]

The deployment: ``dagster-daemon run -w workspace.yaml`` (run queue, its own code server, a run
worker per run) with the shipped dagster.yaml on a fresh DAGSTER_HOME whose instance storage is
PostgreSQL, as in production and the deployment tests (SQLite would have the daemon's sensor
threads, the code server, the run workers and this process write one file); the pricing
database PostgreSQL too (throwaway databases on ``--postgres``, dropped at the end).
PRICING_WATCH_ENABLED=true, PRICING_WATCH_INTERVAL_SECONDS=--interval,
PRICING_WATCH_MAX_REQUESTS_PER_HOUR=--budget (default 2000: the shipped 240 an hour is spent by
the list polls alone at a 15 s interval, and OpenRouter's first sync asks ~340 endpoint lists;
the requests actually made are printed). The six-hourly sync schedule is moved to once a year,
so that every sync run is the watcher's.

Upstream: a local UpstreamServer serves Together's recorded list and OpenRouter's (2026-07-21,
its per-model endpoint lists as a tree); the other six providers point at a closed port (their
watchers record errors). The watchers ask for the first syncs themselves; the benchmark waits
until both watched providers are published and verified by a poll.

Then, alternating, ``--changes`` switches at a random instant within an interval of the last
run finishing (so switches do not align with ticks):
  list      one model's price in a list: OpenRouter's deepseek/deepseek-r1 (prompt) and
            Together's Llama-3.3-70B-Instruct-Turbo (pricing.input), in turn, a new price each time.
            The first one also gives that model's Novita endpoint a discount, so once published
            the endpoint is volatile (polled at every tick).
  endpoint  that endpoint's discount (its prompt price, which includes the discount, and the
            ``discount`` field) switched to a new value: only the volatile-endpoint poll sees it.
At each switch t0 is taken, then a PriceBook is refreshed and asked ``cost`` (1M input tokens,
``upstream_provider=`` the endpoint's tag for endpoint changes) every 0.5 s until it bills the
new price: lag = seen - t0. Per change, where the time went: until the watcher's poll (first
request for the changed path after t0, from the server's log), poll -> run created, created ->
the run launched (run queue), launched -> the run worker started, started -> published_prices
materialized, and on to the book billing it.

Quiet periods (before and after the changes) of at least --quiet-intervals intervals and as many
polls of each watched provider: sync runs launched there are runs launched while nothing changed
(target 0), as are any runs beyond one per change.

Prints the per-change table, p50/p95/max per kind and overall, the verdict against p95 <=
interval + 60 s, polls and requests per hour per provider (the watcher's own count, which includes
what it reserves for the runs it asks for, and the server's log, which includes the runs'
requests), the watcher ticks the daemon logged as failed, and what a user has without the
watcher. No assertion on elapsed time. Every process
of the deployment is stopped at the end (Ctrl-C included): the daemon's process group, then
whatever carries this run's marker in its environment (the code server and run workers the
daemon starts in sessions of their own).

Seen with this benchmark (2026-12-07), both fixed since: OpenRouter's first watcher run asked
for the endpoints of all 339 models in a ~9 KB ``pricing/detail_models`` tag, over what
PostgreSQL's run-tag index takes, so the run was stored without its tags (its run key with them)
and a later tick could launch it twice (a long scope is now kept in the instance and the tag
refers to it); and watcher ticks evaluated side by side on an empty pricing database each
migrated it, which Alembic's module-global context does not survive (one upgrade at a time per
process now). The first-sync lines and the failed-tick count show either if it comes back.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import yaml
from dagster import AssetRecordsFilter, DagsterEventType, DagsterInstance, DagsterRunStatus, RunsFilter

from benchmarks.databases import ThrowawayDatabases
from pricing_dev.recordings import DUMMY_API_KEYS, REPLAY_DETAILS, REPLAY_FILES
from pricing_dev.upstream_server import UpstreamServer
from pricing_pipeline.defs import upstream_state
from pricing_pipeline.defs.runs import PARTITION_TAG, PUBLISHED_KEY, SYNC_JOB_NAME, TRIGGER_TAG
from pricing_pipeline.providers.registry import PROVIDER_NAMES

REPO = Path(__file__).resolve().parents[1]
BIN = Path(os.environ.get("VIRTUAL_ENV", REPO / ".venv")) / "bin"
MARKER = "PRICING_BENCH_CHANGE_LAG"
WATCHED = ("openrouter", "together")
OPENROUTER_MODEL = "deepseek/deepseek-r1"
TOGETHER_MODEL = "meta-llama/Llama-3.3-70B-Instruct-Turbo"
MTOK = Decimal(1_000_000)
STEP = Decimal("0.01")  # USD per 1M tokens: each list change moves the price by a cent more
DISCOUNT_STEP = Decimal("0.02")  # each endpoint change: a 2 % larger discount
POLL_SECONDS = 0.5
TOLERANCE = Decimal("1e-9")  # USD per 1M tokens
NEVER_CRON = "0 0 1 1 *"  # the scheduled sync, out of the way: every sync run is the watcher's
UNFINISHED = [DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING,
              DagsterRunStatus.STARTED, DagsterRunStatus.CANCELING]
SIX_HOURLY_MEAN_LAG = 3 * 3600  # a change waits half the six-hour period on average


class TimedRequests(list):
    """The server's request log, with the wall time each request arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []

    def append(self, request) -> None:
        self.times.append(time.time())
        super().append(request)

    def first_after(self, t0: float, matches: Callable[[str], bool]) -> float | None:
        for at, request in zip(list(self.times), list(self), strict=False):
            if at >= t0 and matches(request.path.split("?")[0]):
                return at
        return None

    def between(self, start: float, end: float, matches: Callable[[str], bool]) -> int:
        return sum(1 for at, r in zip(list(self.times), list(self), strict=False)
                   if start <= at < end and matches(r.path.split("?")[0]))


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * q
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


# --- the upstream's bodies ---------------------------------------------------------------------


class Bodies:
    """The recorded bodies, and each change's new body and the price it should bill."""

    def __init__(self) -> None:
        self.openrouter_list = json.loads(REPLAY_FILES["openrouter"].read_bytes())
        self.together_list = json.loads(REPLAY_FILES["together"].read_bytes())
        folder, suffix = REPLAY_DETAILS["openrouter"]
        self.endpoints = json.loads((folder / f"{OPENROUTER_MODEL}.json").read_bytes())
        self.endpoint_path = f"/openrouter/{OPENROUTER_MODEL}{suffix}"
        self.endpoint = self.endpoints["data"]["endpoints"][0]
        self.tag = self.endpoint["tag"]
        self.endpoint_price = Decimal(self.endpoint["pricing"]["prompt"]) * MTOK  # per 1M, no discount
        self.headline = Decimal(self._entry(self.openrouter_list["data"], OPENROUTER_MODEL)["pricing"]["prompt"]) * MTOK
        self.together = Decimal(str(self._entry(self.together_list, TOGETHER_MODEL)["pricing"]["input"]))

    @staticmethod
    def _entry(models: list[dict], model_id: str) -> dict:
        return next(m for m in models if m["id"] == model_id)

    def openrouter_with(self, per_mtok: Decimal) -> bytes:
        body = json.loads(json.dumps(self.openrouter_list))
        self._entry(body["data"], OPENROUTER_MODEL)["pricing"]["prompt"] = format(per_mtok / MTOK, "f")
        return json.dumps(body).encode()

    def together_with(self, per_mtok: Decimal) -> bytes:
        body = json.loads(json.dumps(self.together_list))
        self._entry(body, TOGETHER_MODEL)["pricing"]["input"] = float(per_mtok)
        return json.dumps(body).encode()

    def endpoints_with(self, discount: Decimal) -> tuple[bytes, Decimal]:
        """The model's endpoint list with the endpoint at ``discount`` off; its new price per 1M."""
        body = json.loads(json.dumps(self.endpoints))
        endpoint = body["data"]["endpoints"][0]
        price = self.endpoint_price * (1 - discount)
        endpoint["pricing"]["prompt"] = format((price / MTOK).normalize(), "f")
        endpoint["pricing"]["discount"] = float(discount)
        return json.dumps(body).encode(), price


@dataclass
class Change:
    kind: str  # list | endpoint
    provider: str
    label: str
    path: str  # the upstream path whose body switches
    body: bytes
    price: Decimal  # what 1M input tokens cost once it is live
    upstream_provider: str | None = None
    also: tuple[str, bytes] | None = None  # a second path switched at the same instant
    # measured
    t0: float = 0.0
    seen: float | None = None
    polled: float | None = None
    run_id: str | None = None
    created: float | None = None
    launched: float | None = None
    started: float | None = None
    published: float | None = None
    runs: int = 0  # sync runs of the provider created from t0 until the next change

    @property
    def lag(self) -> float | None:
        return None if self.seen is None else self.seen - self.t0


def plan(bodies: Bodies, count: int) -> list[Change]:
    """Alternating list (OpenRouter, Together in turn) and endpoint changes; the first is
    OpenRouter's list with the endpoint's first discount, which makes the endpoint volatile."""
    changes: list[Change] = []
    openrouter_price, together_price, discount = bodies.headline, bodies.together, Decimal(0)
    lists = 0
    for i in range(count):
        if i % 2 == 0:
            if lists % 2 == 0:
                openrouter_price += STEP
                change = Change("list", "openrouter", f"{OPENROUTER_MODEL} prompt {openrouter_price}/M", "/openrouter",
                                bodies.openrouter_with(openrouter_price), openrouter_price)
                if i == 0:
                    discount += DISCOUNT_STEP
                    endpoint_body, _ = bodies.endpoints_with(discount)
                    change.also = (bodies.endpoint_path, endpoint_body)
                    change.label += f" (+ {bodies.tag} {discount:.0%} off)"
            else:
                together_price += STEP
                change = Change("list", "together", f"{TOGETHER_MODEL.split('/')[-1]} input {together_price}/M",
                                "/together", bodies.together_with(together_price), together_price)
            lists += 1
        else:
            discount += DISCOUNT_STEP
            endpoint_body, price = bodies.endpoints_with(discount)
            label = f"{OPENROUTER_MODEL}@{bodies.tag} {discount:.0%} off ({price:.4f}/M)"
            change = Change("endpoint", "openrouter", label,
                            bodies.endpoint_path, endpoint_body, price, upstream_provider=bodies.tag)
        changes.append(change)
    return changes


# --- the deployment ----------------------------------------------------------------------------


class Bench:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.interval = args.interval
        self.token = uuid.uuid4().hex[:12]
        self.home = Path(tempfile.mkdtemp(prefix="change-lag-"))
        self.databases = ThrowawayDatabases(args.postgres)
        self.daemon: subprocess.Popen | None = None
        self.upstream = UpstreamServer()
        self.log = TimedRequests()
        self.upstream.requests = self.log
        self.instance: DagsterInstance | None = None
        self.book = None
        self.bodies = Bodies()

    # processes

    def start(self) -> None:
        storage_url = self.databases.create("change_lag_dagster")
        self.prices_url = self.databases.create("change_lag_prices")
        config = yaml.safe_load((REPO / "dagster.yaml").read_text())
        config["storage"] = {"postgres": {"postgres_url": storage_url}}
        (self.home / "dagster.yaml").write_text(yaml.safe_dump(config))
        self.upstream.start()
        port = closed_port()
        env = {
            **os.environ, **DUMMY_API_KEYS,
            "DAGSTER_HOME": str(self.home),
            "PRICING_DATABASE_URL": self.prices_url,
            "PRICING_WATCH_ENABLED": "true",
            "PRICING_WATCH_INTERVAL_SECONDS": str(self.interval),
            "PRICING_WATCH_MAX_REQUESTS_PER_HOUR": str(self.args.budget),
            "PRICING_SYNC_CRON": NEVER_CRON,
            "PYTHONWARNINGS": "ignore",
            MARKER: self.token,
            **{f"PRICING_{p.upper()}_URL": f"http://127.0.0.1:{port}/{p}" for p in PROVIDER_NAMES},
        }
        env.pop("PRICING_PUSHGATEWAY_URL", None)
        env["PRICING_OPENROUTER_URL"] = self.upstream.serve("/openrouter",
                                                            self.bodies.openrouter_with(self.bodies.headline))
        env["PRICING_TOGETHER_URL"] = self.upstream.serve("/together", self.bodies.together_with(self.bodies.together))
        folder, suffix = REPLAY_DETAILS["openrouter"]
        self.upstream.serve_tree("/openrouter", folder, suffix)
        self.daemon = subprocess.Popen(
            [str(BIN / "dagster-daemon"), "run", "-w", "workspace.yaml"], cwd=REPO, env=env,
            stdout=(self.home / "daemon.log").open("wb"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.instance = DagsterInstance.from_config(str(self.home))

    def stop(self) -> None:
        """The daemon's process group, then everything carrying this run's marker (the code
        server the daemon started and its run workers, in sessions of their own)."""
        if self.daemon is not None:
            _signal_group(self.daemon.pid, signal.SIGTERM)
            try:
                self.daemon.wait(20)
            except subprocess.TimeoutExpired:
                pass
            _signal_group(self.daemon.pid, signal.SIGKILL)
            self.daemon.wait()
        left = marked_processes(self.token)
        for pid in left:
            _signal(pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        while (left := marked_processes(self.token)) and time.monotonic() < deadline:
            time.sleep(0.5)
        for pid in left:
            _signal(pid, signal.SIGKILL)
        if left:
            print(f"killed {len(left)} process(es) that outlived SIGTERM: {sorted(left.values())}")
        if self.book is not None:
            self.book._store.dispose()
        if self.instance is not None:
            self.instance.dispose()
        self.upstream.stop()
        self.databases.drop_all()

    # waiting

    def wait(self, predicate: Callable[[], object], timeout: float, what: str):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.daemon is not None and self.daemon.poll() is not None:
                raise RuntimeError(f"dagster-daemon exited ({self.daemon.returncode}); see {self.home / 'daemon.log'}")
            result = predicate()
            if result:
                return result
            time.sleep(POLL_SECONDS)
        raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}; see {self.home / 'daemon.log'}")

    def states(self) -> dict[str, upstream_state.WatchState]:
        return upstream_state.load_all(self.instance, PROVIDER_NAMES)

    def published_at(self, provider: str) -> float | None:
        records = self.instance.fetch_materializations(
            AssetRecordsFilter(asset_key=PUBLISHED_KEY, asset_partitions=[provider]), limit=1, ascending=False).records
        return records[0].timestamp if records else None

    def sync_runs(self, since: float | None = None, provider: str | None = None, unfinished: bool = False):
        # the provider from the run itself, not a tag filter: a run whose tags did not fit
        # PostgreSQL's tag index has none in the tags table (the report's sensor errors)
        filters = RunsFilter(
            job_name=SYNC_JOB_NAME,
            statuses=UNFINISHED if unfinished else [],
            created_after=datetime.fromtimestamp(since, UTC) if since is not None else None,
        )
        records = self.instance.get_run_records(filters)
        return sorted((r for r in records if provider in (None, r.dagster_run.tags.get(PARTITION_TAG))),
                      key=lambda r: r.create_timestamp)

    def sensor_errors(self) -> dict[str, int]:
        """Watcher ticks the daemon failed, from its log (a tick whose run could not be created)."""
        text = (self.home / "daemon.log").read_text(errors="replace")
        found = re.findall(r"Sensor daemon caught an error for sensor (watch_\w+)", text)
        return {name: found.count(name) for name in sorted(set(found))}

    def settle(self) -> None:
        self.wait(lambda: not self.sync_runs(unfinished=True), 600, "every sync run to finish")

    def first_syncs(self) -> float:
        started = time.time()
        self.wait(lambda: all(self.published_at(p) for p in WATCHED), 900,
                  "the first publish of " + " and ".join(WATCHED))
        published = time.time()
        self.settle()
        def verified() -> bool:
            states = self.states()
            return all((states[p].verified_at or 0) > self.published_at(p) for p in WATCHED)

        self.wait(verified, 600, "a poll to verify each watched provider")
        first = self.sync_runs()
        print(f"first syncs (asked for by the watchers): published {published - started:.0f} s after the daemon "
              f"started, verified by a poll {time.time() - started:.0f} s after; {len(first)} sync run(s):")
        for r in first:
            run = r.dagster_run
            print(f"    {run.tags.get(PARTITION_TAG):<11} {run.run_id[:8]} {run.status.value:<8} "
                  f"key {run.tags.get('dagster/run_key')}  endpoint lists asked for: "
                  f"{len(upstream_state.scope_models(self.instance, run.tags.get('pricing/detail_models', '[]')))}")
        duplicates = len(first) - len({r.dagster_run.tags.get(PARTITION_TAG) for r in first})
        if duplicates:
            print(f"    ! {duplicates} run(s) beyond one per provider for the first publish")
        return time.time()

    # measuring

    def quiet(self, label: str) -> tuple[int, float]:
        """No change for at least --quiet-intervals intervals and as many polls of each watched
        provider: the sync runs launched meanwhile, and the polls made."""
        self.settle()
        start = time.time()
        polls_before = {p: sum(s.polls.values()) for p, s in self.states().items() if p in WATCHED}
        need = self.args.quiet_intervals
        self.wait(lambda: time.time() - start >= need * self.interval
                  and all(sum(self.states()[p].polls.values()) >= polls_before[p] + need for p in WATCHED),
                  need * self.interval + 600, f"{need} polls of each watched provider")
        self.settle()  # a run asked for late in the period is counted
        launched = self.sync_runs(since=start)
        polls = {p: sum(self.states()[p].polls.values()) - n for p, n in polls_before.items()}
        elapsed = time.time() - start
        print(f"quiet period {label}: {elapsed:.0f} s ({elapsed / self.interval:.1f} intervals), polls "
              + ", ".join(f"{p} {n}" for p, n in polls.items()) + f": {len(launched)} sync run(s) launched"
              + "".join(f"\n    ! {r.dagster_run.run_id[:8]} {r.dagster_run.tags.get(PARTITION_TAG)} "
                        f"{r.dagster_run.tags.get(TRIGGER_TAG)} {r.dagster_run.status.value}" for r in launched))
        return len(launched), elapsed

    def book_price(self, change: Change) -> Decimal | None:
        from pricing_pipeline.pricing.cost import CostError, Usage

        self.book.refresh()
        model = OPENROUTER_MODEL if change.provider == "openrouter" else TOGETHER_MODEL
        try:
            return self.book.cost(change.provider, model, Usage(input_tokens=1_000_000),
                                  upstream_provider=change.upstream_provider).total_usd
        except CostError:
            return None

    def perform(self, change: Change, timeout: float) -> None:
        change.t0 = time.time()
        if change.also:  # first: a poll between the two sees the list unchanged, not half of the change
            self.upstream.serve(*change.also)
        self.upstream.serve(change.path, change.body)
        deadline = change.t0 + timeout
        while time.time() < deadline:
            price = self.book_price(change)
            if price is not None and abs(price - change.price) < TOLERANCE:
                change.seen = time.time()
                break
            time.sleep(POLL_SECONDS)
        paths = {change.path} | ({change.also[0]} if change.also else set())
        change.polled = self.log.first_after(change.t0, lambda p: p in paths)

    def explain(self, change: Change, until: float) -> None:
        """The change's sync run: when it was created, launched, started, and published."""
        runs = [r for r in self.sync_runs(since=change.t0, provider=change.provider)
                if r.create_timestamp.timestamp() < until]
        change.runs = len(runs)
        if not runs:
            return
        record = runs[0]
        change.run_id = record.dagster_run.run_id
        change.created = record.create_timestamp.timestamp()
        change.started = record.start_time
        starting = self.instance.get_records_for_run(change.run_id, of_type=DagsterEventType.RUN_STARTING).records
        change.launched = starting[0].event_log_entry.timestamp if starting else None
        materialized = self.instance.get_records_for_run(change.run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION)
        for entry in materialized.records:
            if entry.event_log_entry.dagster_event.asset_key == PUBLISHED_KEY:
                change.published = entry.event_log_entry.timestamp


def marked_processes(token: str) -> dict[int, str]:
    """Live processes whose environment carries this run's marker (this process excepted)."""
    needle = f"{MARKER}={token}".encode()
    found = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            if needle not in (proc / "environ").read_bytes().split(b"\0"):
                continue
            if (proc / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                continue
            found[int(proc.name)] = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")[:80]
        except (OSError, IndexError):
            continue
    return found


def _interrupted(signum, frame) -> None:
    raise KeyboardInterrupt


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


# --- the report --------------------------------------------------------------------------------


def _span(a: float | None, b: float | None) -> str:
    return f"{b - a:6.1f}" if a is not None and b is not None else "     -"


def print_changes(changes: list[Change]) -> None:
    print(f"\n{'#':>2} {'kind':<8} {'provider':<10} {'lag s':>6}   {'poll':>6} {'->run':>6} {'queue':>6} {'start':>6} "
          f"{'->pub':>6} {'->book':>6}  runs  change")
    for i, c in enumerate(changes):
        lag = f"{c.lag:6.1f}" if c.lag is not None else "  miss"
        print(f"{i:>2} {c.kind:<8} {c.provider:<10} {lag}   {_span(c.t0, c.polled)} {_span(c.polled, c.created)} "
              f"{_span(c.created, c.launched)} {_span(c.launched, c.started)} {_span(c.started, c.published)} "
              f"{_span(c.published, c.seen)}  {c.runs:>4}  {c.label}")
    print("   poll: t0 -> the watcher's first request for the changed body; ->run: -> the sync run created;\n"
          "   queue: -> launched by the run queue (RUN_STARTING); start: -> the run worker started (RUN_START);\n"
          "   ->pub: -> published_prices materialized; ->book: -> PriceBook.cost billed the new price (refresh() every "
          f"{POLL_SECONDS} s; negative: the prices commit before the event is written)")


def summarize(changes: list[Change], interval: int) -> bool:
    target = interval + 60
    print(f"\nlag from the switch to PriceBook.cost billing the new price (interval {interval} s, "
          f"target p95 <= {target} s)")
    print(f"  {'':<10} {'n':>3} {'p50 s':>7} {'p95 s':>7} {'max s':>7} {'missed':>7}   "
          "median of poll / ->run / queue / start / ->pub / ->book")
    verdict = True
    for kind in ("list", "endpoint", "all"):
        group = [c for c in changes if kind in ("all", c.kind)]
        if not group:
            continue
        lags = [c.lag for c in group if c.lag is not None]
        missed = len(group) - len(lags)
        parts = []
        for a, b in (("t0", "polled"), ("polled", "created"), ("created", "launched"), ("launched", "started"),
                     ("started", "published"), ("published", "seen")):
            spans = [getattr(c, b) - getattr(c, a) for c in group
                     if getattr(c, a) is not None and getattr(c, b) is not None]
            parts.append(f"{statistics.median(spans):.1f}" if spans else "-")
        if lags:
            print(f"  {kind:<10} {len(group):>3} {percentile(lags, 0.5):7.1f} {percentile(lags, 0.95):7.1f} "
                  f"{max(lags):7.1f} {missed:>7}   {' / '.join(parts)}")
        else:
            print(f"  {kind:<10} {len(group):>3} {'-':>7} {'-':>7} {'-':>7} {missed:>7}")
        if kind == "all":
            verdict = bool(lags) and not missed and percentile(lags, 0.95) <= target
            p95 = percentile(lags, 0.95) if lags else float("nan")
            print(f"  p95 {p95:.1f} s <= interval + 60 s = {target} s: {'yes' if verdict else 'NO'}")
    return verdict


def print_requests(bench: Bench, states_before: dict, states_after: dict, start: float, end: float) -> None:
    hours = (end - start) / 3600
    print(f"\npolls and requests per hour over the {end - start:.0f} s from the first quiet period on "
          f"(budget {bench.args.budget}; watcher: its own count, reservations for its runs included; "
          "server: the requests the local upstream answered, the runs' included)")
    print(f"  {'provider':<11} {'polls/h':>8} {'s/poll':>7} {'watcher req/h':>14} {'server req/h':>13}  "
          "of which endpoint lists/h")
    for provider in PROVIDER_NAMES:
        before, after = states_before[provider], states_after[provider]
        polls = sum(after.polls.values()) - sum(before.polls.values())
        made = after.requests_total - before.requests_total
        prefix = f"/{provider}"
        served = bench.log.between(start, end, lambda p, prefix=prefix: p == prefix or p.startswith(prefix + "/"))
        endpoint_lists = bench.log.between(start, end, lambda p, prefix=prefix: p.startswith(prefix + "/"))
        per_poll = (end - start) / polls if polls else float("nan")
        served_text = f"{served / hours:13.0f}" if provider in WATCHED else f"{'(closed)':>13}"
        print(f"  {provider:<11} {polls / hours:8.0f} {per_poll:7.1f} {made / hours:14.0f} {served_text}  "
              + (f"{endpoint_lists / hours:.0f}" if provider in WATCHED and provider == "openrouter" else ""))
    for provider in WATCHED:
        before, after = states_before[provider], states_after[provider]
        counted = sum(after.lag_counts) - sum(before.lag_counts)
        if counted:
            print(f"  the watcher's own change-to-live ({provider}, its first sighting -> the publish): "
                  f"mean {(after.lag_sum - before.lag_sum) / counted:.1f} s over {counted}")


def check_recorded_prices(bench: Bench) -> None:
    """The book bills the recorded prices before any change: what a change is compared with."""
    bodies = bench.bodies
    for provider, price, upstream_provider in (("openrouter", bodies.headline, None),
                                               ("together", bodies.together, None),
                                               ("openrouter", bodies.endpoint_price, bodies.tag)):
        billed = bench.book_price(Change("probe", provider, "", "", b"", price, upstream_provider))
        if billed is None or abs(billed - price) > TOLERANCE:
            raise RuntimeError(f"the book bills {provider}@{upstream_provider} at {billed}, not the recorded {price}")


def run(bench: Bench, rng: random.Random) -> None:
    from pricing_pipeline.gateway.pricebook import PriceBook

    args = bench.args
    bench.start()
    started = time.time()
    bench.first_syncs()
    # a day of history in memory and no background reload: refreshed before each look
    bench.book = PriceBook.load(bench.prices_url, check_every=timedelta(days=1))
    check_recorded_prices(bench)

    window_start = time.time()
    states_before = bench.states()
    quiet_runs, quiet_seconds = bench.quiet("before the changes")
    changes = plan(bench.bodies, args.changes)
    timeout = max(300.0, 4 * args.interval + 180)
    for i, change in enumerate(changes):
        bench.settle()
        time.sleep(rng.uniform(0, args.interval))
        bench.perform(change, timeout)
        lag = f"{change.lag:.1f} s" if change.lag is not None else f"not live within {timeout:.0f} s"
        print(f"  change {i} ({change.kind}, {change.provider}): {lag}", flush=True)
        if i == 0:  # the endpoint must be live (and so volatile) before the endpoint changes
            price = bench.bodies.endpoint_price * (1 - DISCOUNT_STEP)
            probe = Change("probe", "openrouter", "", "", b"", price, bench.bodies.tag)
            bench.wait(lambda probe=probe, price=price: (b := bench.book_price(probe)) is not None
                       and abs(b - price) < TOLERANCE, 60, "the endpoint's first discount to be live")
    bench.settle()
    for i, change in enumerate(changes):
        bench.explain(change, changes[i + 1].t0 if i + 1 < len(changes) else time.time())
    after_runs, after_seconds = bench.quiet("after the changes")
    window_end = time.time()
    states_after = bench.states()

    print_changes(changes)
    met = summarize(changes, args.interval)
    extra = sum(max(0, c.runs - 1) for c in changes)
    print(f"\nsync runs launched while nothing changed: {quiet_runs + after_runs} in "
          f"{quiet_seconds + after_seconds:.0f} s of quiet periods (target 0); beyond one per change: {extra} "
          f"(runs per change: {', '.join(str(c.runs) for c in changes)})")
    errors = bench.sensor_errors()
    print("watcher ticks the daemon failed (daemon.log): "
          + (", ".join(f"{name} {n}" for name, n in errors.items()) if errors else "none"))
    print_requests(bench, states_before, states_after, window_start, window_end)

    lags = [c.lag for c in changes if c.lag is not None]
    print("\nwhat a user has otherwise (mean lag from a price change to the gateway billing it):")
    if lags:
        print(f"  this watcher, every {args.interval} s:  {statistics.mean(lags):8.1f} s")
    print(f"  the six-hourly schedule alone:  {SIX_HOURLY_MEAN_LAG:8.0f} s (half the period; at worst 21600 s)")
    print("  LiteLLM's bundled cost map:     days (a change waits for a package release, then an upgrade)")
    print(f"\nwall time {time.time() - started:.0f} s; p95 target {'met' if met else 'NOT met'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interval", type=int, default=15, help="PRICING_WATCH_INTERVAL_SECONDS (default 15)")
    parser.add_argument("--changes", type=int, default=10, help="switches to make, alternating kinds (default 10)")
    parser.add_argument("--quiet-intervals", type=int, default=3,
                        help="length of each quiet period, in intervals and polls of each provider (default 3)")
    parser.add_argument("--budget", type=int, default=2000, help="PRICING_WATCH_MAX_REQUESTS_PER_HOUR (default 2000)")
    parser.add_argument("--seed", type=int, default=28, help="of the random offsets of the switches")
    parser.add_argument("--postgres", default="postgresql+psycopg2://postgres@127.0.0.1:5432/postgres",
                        help="admin URL of the server the throwaway databases are made on")
    parser.add_argument("--keep", action="store_true", help="keep DAGSTER_HOME (the daemon's log) at the end")
    args = parser.parse_args()
    if args.changes < 2:
        parser.error("--changes: at least 2 (a list change makes the endpoint volatile first)")
    signal.signal(signal.SIGTERM, _interrupted)  # stops the deployment as Ctrl-C does
    print(f"change lag: interval {args.interval} s, {args.changes} changes, budget {args.budget} requests/h "
          f"per provider, watched: {', '.join(WATCHED)} (the other {len(PROVIDER_NAMES) - len(WATCHED)} "
          "at a closed port)")
    bench = Bench(args)
    failed = True
    try:
        run(bench, random.Random(args.seed))
        failed = False
        print("load average at the end (1, 5, 15 min): " + ", ".join(f"{v:.1f}" for v in os.getloadavg())
              + f" on {os.cpu_count()} CPUs")
    finally:
        bench.stop()
        if failed or args.keep:
            print(f"DAGSTER_HOME kept: {bench.home} (daemon.log)")
        else:
            shutil.rmtree(bench.home, ignore_errors=True)


if __name__ == "__main__":
    main()
