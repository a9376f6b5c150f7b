"""Pricing pipeline dashboards as code (grafana-foundation-sdk).

    python monitoring/grafana/generate.py            # rewrite monitoring/grafana/dashboards/*.json
    python monitoring/grafana/generate.py --check    # exit 1 if the committed JSON is out of date
    python monitoring/grafana/generate.py --output DIR

Three dashboards: scheduler health, system impact, SLOs and error budgets. Every query uses
only metrics of monitoring/METRICS.md and recording rules of monitoring/prometheus/*.yml (a test
checks it and runs every query against a real Prometheus). Grafana loads the JSON through the
provisioning files in monitoring/grafana/provisioning/. Edit this file, never the JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from grafana_foundation_sdk.builders import bargauge, prometheus, stat, table, text, timeseries
from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models.dashboard import (
    DashboardCursorSync,
    DashboardLinkType,
    DataSourceRef,
    DataTransformerConfig,
    Threshold,
    ThresholdsMode,
    ValueMap,
    ValueMappingResult,
    VariableOption,
    VariableRefresh,
    VariableSort,
)
from grafana_foundation_sdk.models.prometheus import PromQueryFormat

from pricing_pipeline import settings as _settings

OUTPUT = Path(__file__).resolve().parent / "dashboards"
DATASOURCE = DataSourceRef(type_val="prometheus", uid="${datasource}")
RUNBOOKS = "https://github.com/example/pricing-pipeline/blob/main/docs/runbooks/README.md"
TAG = "pricing-pipeline"
P = '{provider=~"$provider"}'  # the provider variable as a label matcher

HOUR = 3600
WINDOWS = ["6h", "1d", "3d", "7d"]  # choices of $window; a sync every 6h leaves shorter windows empty
# The freshness promise, from the code (the rules get it from monitoring/code_facts.py).
SYNC_INTERVAL = int(_settings.SYNC_INTERVAL.total_seconds())
STALE_WARN = int(_settings.FRESHNESS_WARN_AFTER.total_seconds())
STALE_FAIL = int(_settings.FRESHNESS_FAIL_AFTER.total_seconds())


# ---------------------------------------------------------------------------------- helpers


class Layout:
    """Numbers panels 1, 2, ... per dashboard and places them left to right, row by row, on
    Grafana's 24-column grid (explicit positions keep the JSON stable)."""

    def __init__(self) -> None:
        self.next_id = 1
        self.x = 0
        self.y = 0
        self.row_height = 0

    def id(self) -> int:
        value = self.next_id
        self.next_id += 1
        return value

    def row(self, title: str) -> db.Row:
        self._newline()
        row = db.Row(title).id(self.id()).grid_pos(_grid(0, self.y, 24, 1))
        self.y += 1
        return row

    def place(self, panel, width: int, height: int):
        if self.x + width > 24:
            self._newline()
        panel.id(self.id()).grid_pos(_grid(self.x, self.y, width, height))
        self.x += width
        self.row_height = max(self.row_height, height)
        return panel

    def _newline(self) -> None:
        self.y += self.row_height
        self.x = 0
        self.row_height = 0


def _grid(x: int, y: int, w: int, h: int):
    from grafana_foundation_sdk.models.dashboard import GridPos

    return GridPos(h=h, w=w, x=x, y=y)


def query(expr: str, legend: str = "", ref: str = "A", instant: bool = False) -> prometheus.Dataquery:
    q = prometheus.Dataquery().expr(expr).ref_id(ref).legend_format(legend or "__auto")
    return q.instant() if instant else q.range()


def thresholds(*steps: tuple[float | None, str]) -> db.ThresholdsConfig:
    return db.ThresholdsConfig().mode(ThresholdsMode.ABSOLUTE).steps(
        [Threshold(value=value, color=color) for value, color in steps]
    )


def legend() -> common_builders.VizLegendOptions:
    return (
        common_builders.VizLegendOptions()
        .display_mode(common.LegendDisplayMode.TABLE)
        .placement(common.LegendPlacement.BOTTOM)
        .show_legend(True)
        .calcs(["lastNotNull", "max"])
    )


def tooltip() -> common_builders.VizTooltipOptions:
    return common_builders.VizTooltipOptions().mode(common.TooltipDisplayMode.MULTI).sort(common.SortOrder.DESCENDING)


def graph(title: str, description: str, targets: list[prometheus.Dataquery] | prometheus.Dataquery, unit: str,
          bars: bool = False, stacked: bool = False, steps=None, min_value: float | None = 0) -> timeseries.Panel:
    panel = (
        timeseries.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .targets(targets if isinstance(targets, list) else [targets])
        .unit(unit)
        .legend(legend())
        .tooltip(tooltip())
        .line_interpolation(common.LineInterpolation.STEP_AFTER)
        .fill_opacity(10)
    )
    if min_value is not None:
        panel.min(min_value)
    if bars:
        panel.draw_style(common.GraphDrawStyle.BARS).fill_opacity(80)
    if stacked:
        panel.stacking(common_builders.StackingConfig().mode(common.StackingMode.NORMAL))
    if steps:
        # "Tresholds" is the SDK's spelling.
        line = common_builders.GraphThresholdsStyleConfig().mode(common.GraphTresholdsStyleMode.LINE)
        panel.thresholds(thresholds(*steps)).thresholds_style(line)
    return panel


QUANTILES = (("A", 0.5), ("B", 0.95), ("C", 0.99))


def quantile(q: float, histogram: str, by: str | None = None, ref: str = "A") -> prometheus.Dataquery:
    """The q-quantile of a histogram over $window for the selected providers, in total (legend
    p50, p95, ...) or one series per ``by`` label."""
    group = f"{by}, le" if by else "le"
    expr = f"histogram_quantile({q}, sum by ({group}) (rate({histogram}_bucket{P}[$window])))"
    return query(expr, "{{" + by + "}}" if by else f"p{int(q * 100)}", ref)


def per_provider_bars(title: str, series: str, description: str) -> timeseries.Panel:
    """Bars of a per-provider recording rule, for the selected providers."""
    return graph(title, description, [query(f'{series}{{provider=~"$provider"}}', "{{provider}}")], "none", bars=True)


def single(title: str, description: str, target: prometheus.Dataquery, unit: str, steps,
           mappings=None) -> stat.Panel:
    panel = (
        stat.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .targets([target])
        .unit(unit)
        .thresholds(thresholds(*steps))
        .color_mode(common.BigValueColorMode.BACKGROUND)
        .graph_mode(common.BigValueGraphMode.NONE)
        .reduce_options(common_builders.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
    )
    if mappings:
        panel.mappings(mappings)
    return panel


def bars(title: str, description: str, target: prometheus.Dataquery, unit: str, steps) -> bargauge.Panel:
    return (
        bargauge.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .targets([target])
        .unit(unit)
        .min(0)
        .thresholds(thresholds(*steps))
        .display_mode(common.BarGaugeDisplayMode.BASIC)
        .orientation(common.VizOrientation.HORIZONTAL)
        .reduce_options(common_builders.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
    )


def base(title: str, uid: str, description: str, provider_variable: bool = True) -> db.Dashboard:
    dash = (
        db.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags([TAG])
        .editable()
        .timezone("utc")
        .time("now-7d", "now")
        .refresh("1m")
        .tooltip(DashboardCursorSync.CROSSHAIR)
        .link(db.DashboardLink("Pricing dashboards").type(DashboardLinkType.DASHBOARDS).tags([TAG]).as_dropdown(True))
        .link(db.DashboardLink("Runbooks").type(DashboardLinkType.LINK).url(RUNBOOKS).target_blank(True))
        .with_variable(
            db.DatasourceVariable("datasource")
            .label("Data source")
            .type("prometheus")
            .current(VariableOption(text="Prometheus", value="prometheus", selected=True))
        )
    )
    if provider_variable:
        dash.with_variable(
            db.QueryVariable("provider")
            .label("Provider")
            .datasource(DATASOURCE)
            .query("label_values(pricing_last_sync_attempt_timestamp, provider)")
            .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
            .sort(VariableSort.ALPHABETICAL_ASC)
            .multi(True)
            .include_all(True)
            .all_value(".*")
            .current(VariableOption(text="All", value="$__all", selected=True))
        )
    return dash


# --------------------------------------------------------------------------- the dashboards


def scheduler_health(dash: db.Dashboard, lay: Layout) -> None:
    dash.with_row(lay.row("Scheduler"))
    dash.with_panel(lay.place(single(
        "Sync schedule", "price_sync_schedule's state in the Dagster instance (pricing_scheduler_enabled).",
        query("max(pricing_scheduler_enabled)", instant=True), "none",
        [(None, "red"), (1, "green")],
        mappings=[ValueMap({"0": ValueMappingResult(text="Stopped", color="red", index=0),
                            "1": ValueMappingResult(text="Running", color="green", index=1)})],
    ), 4, 4))
    dash.with_panel(lay.place(single(
        "Sync interval", "Interval of the sync schedule, from its cron expression.",
        query("max(pricing_sync_interval_seconds)", instant=True), "s", [(None, "blue")],
    ), 4, 4))
    dash.with_panel(lay.place(single(
        "Publisher heartbeat age", "Time since the metrics publisher's last push (about every minute). "
        "Above 5 minutes every other panel shows frozen values.",
        query("time() - max(pricing_metrics_publisher_heartbeat_timestamp)", instant=True), "s",
        [(None, "green"), (120, "yellow"), (300, "red")],
    ), 4, 4))
    dash.with_panel(lay.place(single(
        "Last run of any provider", "Time since the last sync run of any provider finished (any trigger, any outcome).",
        query("time() - max(pricing_last_sync_attempt_timestamp)", instant=True), "s",
        [(None, "green"), (SYNC_INTERVAL + 1800, "yellow"), (STALE_FAIL, "red")],
    ), 4, 4))
    dash.with_panel(lay.place(single(
        "Providers with stale prices",
        f"Providers whose last successful publish is older than {STALE_FAIL // HOUR}h (freshness SLI).",
        query("count(provider:pricing_sync_fresh:bool == 0) or vector(0)", instant=True), "none",
        [(None, "green"), (1, "red")],
    ), 4, 4))
    dash.with_panel(lay.place(single(
        "Firing pricing alerts", "Alerts of pricing_sync_alerts.yml and pricing_sync_slos.yml that are firing now.",
        query('count(ALERTS{alertstate="firing", alertname=~"Pricing.+"}) or vector(0)', instant=True), "none",
        [(None, "green"), (1, "orange")],
    ), 4, 4))

    dash.with_row(lay.row("Freshness"))
    dash.with_panel(lay.place(bars(
        "Age of the last successful publish", f"Per provider. Yellow after {STALE_WARN // HOUR}h (one interval), "
        f"red after {STALE_FAIL // HOUR}h (PricingSyncSchedulerStopped).",
        query(f"time() - max by (provider) (pricing_last_sync_timestamp{P})", "{{provider}}", instant=True), "s",
        [(None, "green"), (STALE_WARN, "yellow"), (STALE_FAIL, "red")],
    ), 8, 9))
    dash.with_panel(lay.place(graph(
        "Age of the last successful publish over time",
        "A healthy provider draws a 6h saw tooth; a missed sync makes a tooth 12h tall.",
        query(f"time() - max by (provider) (pricing_last_sync_timestamp{P})", "{{provider}}"), "s",
        steps=[(None, "green"), (STALE_WARN, "yellow"), (STALE_FAIL, "red")],
    ), 16, 9))
    dash.with_panel(lay.place(graph(
        "Age of the last run (any outcome)",
        "Time since the provider's last finished run. Compare with the age of the last success: runs that "
        "happen but fail make the two diverge.",
        query(f"time() - max by (provider) (pricing_last_sync_attempt_timestamp{P})", "{{provider}}"), "s",
    ), 12, 8))
    dash.with_panel(lay.place(graph(
        "Age of the price feeds and of the newest publish",
        "Time since the feeds (prices.json, litellm_model_cost_map.json) were last written and since the newest "
        "publish of any provider (all providers: the feeds carry them all). Healthy, the feeds are a few minutes "
        "younger; older feeds miss the newest prices (PricingFeedsBehind fires after 20 minutes).",
        [query("time() - max(pricing_feeds_written_timestamp_seconds)", "feeds", "A"),
         query("time() - max(pricing_last_sync_timestamp)", "newest publish", "B")], "s",
    ), 12, 8))

    change_watcher(dash, lay)

    dash.with_row(lay.row("Runs"))
    dash.with_panel(lay.place(graph(
        "Scheduled runs by outcome (per 6h)", "Finished schedule-triggered runs in the preceding 6h, by provider and status.",
        [query(f'sum by (provider, status) (provider_status:pricing_scheduled_sync_runs:increase6h{P})',
               "{{provider}} {{status}}")], "none", bars=True, stacked=True,
    ), 12, 8))
    dash.with_panel(lay.place(graph(
        "Manual runs by outcome (total)", "Runs started by hand (UI, CLI, backfills) since the beginning of the run history.",
        query(f"sum by (provider, status) (pricing_manual_sync_runs_total{P})", "{{provider}} {{status}}"), "none",
    ), 12, 8))
    dash.with_panel(lay.place(bars(
        "Failed share of scheduled runs (24h)", "Per provider; PricingSyncHighErrorRate fires above 50%.",
        query('sum by (provider) (provider_status:pricing_scheduled_sync_runs:increase1d{status="failure", provider=~"$provider"})'
              ' / sum by (provider) (provider_status:pricing_scheduled_sync_runs:increase1d{status!="canceled", provider=~"$provider"})',
              "{{provider}}", instant=True), "percentunit",
        [(None, "green"), (0.25, "yellow"), (0.5, "red")],
    ), 8, 8))
    dash.with_panel(lay.place(graph(
        "Price-guard blocks (per 6h)", "Publishes stopped by a blocking snapshot check (PricingSyncPriceGuardBlocked).",
        [query('sum by (provider) (provider_error_type:pricing_provider_errors:increase6h{error_type="check_blocked", provider=~"$provider"})',
               "{{provider}}")], "none", bars=True,
    ), 16, 8))
    dash.with_panel(lay.place(graph(
        "Models held for review", "Flagged proposals the price guard holds per provider (PricingModelsHeld); "
        "their published prices stay live.",
        [query('max by (provider) (pricing_held_models{provider=~"$provider"})', "{{provider}}")], "none",
    ), 12, 8))
    dash.with_panel(lay.place(graph(
        "Oldest hold", "Age of each provider's oldest hold; PricingHeldModelUnreviewed fires above 24h.",
        [query('max by (provider) (pricing_oldest_hold_age_seconds{provider=~"$provider"})', "{{provider}}")], "s",
    ), 12, 8))

    # One panel per provider (repeated over $provider), each on its own axis: one chart of
    # every provider put 13 models next to 5,141 and hid any provider's changes.
    dash.with_row(lay.row("Each provider's catalog over time"))
    dash.with_panel(lay.place(graph(
        "$provider: models", "Models in the provider's last successful sync, over time (one panel per provider).",
        [query('max(pricing_last_sync_models{provider=~"$provider"})', "models")], "none", min_value=None,
    ).repeat("provider").repeat_direction("h"), 6, 6))
    lay._newline()
    dash.with_panel(lay.place(graph(
        "$provider: changes, held, quarantined", "Models added / changed / removed by the provider's last successful "
        "sync, models the price guard holds, models quarantined (unreadable), models whose endpoint prices could not "
        "be fetched (they kept the ones they had), over time (one panel per provider).",
        [query('max by (kind) (pricing_last_sync_model_changes{provider=~"$provider"})', "{{kind}}", "A"),
         query('max(pricing_held_models{provider=~"$provider"})', "held", "B"),
         query('max(pricing_last_sync_quarantined_models{provider=~"$provider"})', "quarantined", "C"),
         query('max(pricing_last_sync_endpoint_fetch_failures{provider=~"$provider"})', "endpoints not fetched", "D")],
        "none",
    ).repeat("provider").repeat_direction("h"), 6, 6))

    dash.with_row(lay.row("Run queue and daemon"))
    dash.with_panel(lay.place(graph(
        "Oldest queued / in-progress sync run",
        "Per provider and state; a sync takes seconds, run monitoring fails a run at 15 min, "
        "PricingSyncRunStuck fires at 30 min.",
        [query(f"max by (provider, state) (pricing_sync_oldest_active_run_age_seconds{P})", "{{provider}} {{state}}")],
        "s",
    ), 16, 8))
    dash.with_panel(lay.place(single(
        "dagster-daemon processes",
        "Daemons heartbeating on the instance (max over 2 min); exactly 1 is healthy "
        "(PricingDagsterDuplicateDaemons).",
        query("max(max_over_time(pricing_dagster_daemons_heartbeating[2m]))", instant=True), "none",
        [(None, "red"), (1, "green"), (2, "red")],
    ), 8, 8))

    dash.with_row(lay.row("Models"))
    for title, description, expr, legend in (
        ("Models in the last successful sync", "Per provider (PricingSyncLowModelsUpdated has per-provider minimums).",
         f"pricing_last_sync_models{P}", "{{provider}}"),
        ("Models added / changed / removed by the last sync", "Per provider and kind.",
         f"sum by (provider, kind) (pricing_last_sync_model_changes{P})", "{{provider}} {{kind}}"),
    ):
        dash.with_panel(lay.place(graph(title, description, query(expr, legend), "none"), 12, 8))


def change_watcher(dash: db.Dashboard, lay: Layout) -> None:
    """The change watcher between the scheduled syncs: one sensor watch_<provider> per provider
    polls the provider's list every pricing_watch_interval_seconds, under an hourly request
    budget. Thresholds are in the watcher's own intervals (its interval is a setting)."""
    dash.with_row(lay.row("Change watcher"))
    interval = f"max by (provider) (pricing_watch_interval_seconds{P})"
    age = f"time() - max by (provider) (pricing_upstream_verified_timestamp_seconds{P})"
    dash.with_panel(lay.place(bars(
        "Upstream verification age, in watcher intervals",
        "Time since the watcher or a sync last confirmed that upstream matches the published prices, divided "
        "by the provider's poll interval. PricingUpstreamUnverified fires above 3 (for 5 minutes). Providers "
        "whose watcher is disabled are not shown.",
        query(f"({age}) / on (provider) {interval}", "{{provider}}", instant=True), "none",
        [(None, "green"), (2, "yellow"), (3, "red")],
    ), 8, 9))
    dash.with_panel(lay.place(graph(
        "Upstream verification age",
        "Per provider, with the alert threshold (three poll intervals) of each enabled watcher. A healthy "
        "watcher draws a saw tooth one interval tall; a change adds the time its run takes to publish.",
        [query(age, "{{provider}}", "A"),
         query(f"3 * {interval}", "{{provider}} threshold", "B")], "s",
    ), 16, 9))
    dash.with_panel(lay.place(graph(
        "Watcher polls by outcome (per hour)",
        "Polls of each provider's list in the preceding hour: unchanged (upstream equals what is published), "
        "changed (a sync run was requested), error (the poll failed).",
        [query(f"sum by (provider, outcome) (increase(pricing_watch_polls_total{P}[1h]))", "{{provider}} {{outcome}}")],
        "none", bars=True, stacked=True,
    ), 12, 8))
    dash.with_panel(lay.place(graph(
        "Change to live p50 / p95 (1d)",
        "From the first poll that saw an upstream change to the publish that made it live, per provider, "
        "over the preceding day (histogram buckets 30 s to 6 h). Without the watcher this is up to 6 h.",
        [query(f"histogram_quantile({q}, sum by (provider, le) (rate(pricing_change_to_live_seconds_bucket{P}[1d])))",
               f"{{{{provider}}}} p{int(q * 100)}", ref)
         for ref, q in (("A", 0.5), ("B", 0.95))], "s",
    ), 12, 8))
    dash.with_panel(lay.place(graph(
        "Watcher requests per hour vs budget",
        "Upstream requests the watcher made or reserved for its runs in the preceding hour, against its "
        "hourly budget (PRICING_WATCH_MAX_REQUESTS_PER_HOUR).",
        [query(f"sum by (provider) (increase(pricing_watch_requests_total{P}[1h]))", "{{provider}} requests", "A"),
         query(f"max by (provider) (pricing_watch_budget_requests_per_hour{P})", "{{provider}} budget", "B")],
        "none",
    ), 12, 8))
    dash.with_panel(lay.place(graph(
        "Requests skipped over the budget (per hour)",
        "List polls and volatile endpoint lists the watcher did not request because the hour's budget was spent; "
        "PricingWatchBudgetExhausted (info) records skipping that lasts 3h.",
        [query(f"sum by (provider) (increase(pricing_watch_skipped_total{P}[1h]))", "{{provider}}")],
        "none", bars=True,
    ), 12, 8))


def system_impact(dash: db.Dashboard, lay: Layout) -> None:
    dash.with_variable(
        db.CustomVariable("window")
        .label("Window")
        .values(",".join(WINDOWS))
        .options([VariableOption(text=w, value=w, selected=w == "1d") for w in WINDOWS])
        .current(VariableOption(text="1d", value="1d", selected=True))
    )

    dash.with_row(lay.row("Sync runs"))
    dash.with_panel(lay.place(graph(
        "CPU seconds of the last run", "User + system CPU of each provider's last finished sync run.",
        query(f"pricing_sync_cpu_seconds{P}", "{{provider}}"), "s",
    ), 8, 8))
    dash.with_panel(lay.place(graph(
        "Peak memory of the last run", "Peak RSS of each provider's last finished sync run; "
        "PricingSyncMemoryUsageHigh fires above 2 GiB.",
        query(f"pricing_sync_peak_rss_bytes{P}", "{{provider}}"), "bytes",
        steps=[(None, "green"), (2 * 1024 ** 3, "red")],
    ), 8, 8))
    dash.with_panel(lay.place(graph(
        "Duration of the last scheduled run", "Mean duration of the scheduled runs finished in the preceding 6h "
        "(one run per provider); PricingSyncSlowDuration fires above 60 s.",
        [query('provider:pricing_scheduled_sync_duration_seconds_sum:increase6h{provider=~"$provider"}'
               ' / provider:pricing_scheduled_sync_duration_seconds_count:increase6h{provider=~"$provider"}',
               "{{provider}}")], "s",
        steps=[(None, "green"), (60, "red")],
    ), 8, 8))
    dash.with_panel(lay.place(graph(
        "Scheduled run duration p50 / p95 / p99 (window)", "All selected providers, from the duration histogram "
        "(buckets 1 s to 30 min) over the chosen window.",
        [quantile(q, "pricing_scheduled_sync_duration_seconds", ref=ref) for ref, q in QUANTILES], "s",
    ), 24, 8))

    dash.with_row(lay.row("Provider latency"))
    for _, q in QUANTILES:
        dash.with_panel(lay.place(graph(
            f"Upstream request duration p{int(q * 100)}",
            "Successful model-list requests per provider, over the chosen window (requests happen "
            "every 6h: short windows are empty).",
            [quantile(q, "pricing_provider_request_duration_seconds", by="provider")], "s",
        ), 8, 8))
    dash.with_panel(lay.place(per_provider_bars("Upstream timeouts (per 6h)", "provider:pricing_provider_timeouts:increase6h",
                                                "Timed-out requests, retries included (PricingSyncProviderTimeout)."), 24, 7))

    dash.with_row(lay.row("Database"))
    dash.with_panel(lay.place(graph(
        "Publish transaction duration p50 / p95 / p99", "Duration of the publish transaction in the pricing database, "
        "selected providers, over the chosen window.",
        [quantile(q, "pricing_database_query_duration_seconds", ref=ref) for ref, q in QUANTILES], "s",
    ), 12, 8))
    dash.with_panel(lay.place(graph(
        "Publish transaction duration p95 by provider", "Over the chosen window.",
        [quantile(0.95, "pricing_database_query_duration_seconds", by="provider")], "s",
    ), 12, 8))
    dash.with_panel(lay.place(per_provider_bars("Failed publishes (per 6h)", "provider:pricing_models_update_errors:increase6h",
                                                "Publish transactions rolled back (PricingSyncDatabaseUpdateFailures)."), 24, 7))

    dash.with_row(lay.row("Errors"))
    dash.with_panel(lay.place(graph(
        "Failed runs by error type (per 6h)", "Failed sync runs in the preceding 6h by the error class that failed them.",
        [query('sum by (error_type) (provider_error_type:pricing_provider_errors:increase6h{provider=~"$provider"})',
               "{{error_type}}")], "none", bars=True, stacked=True,
    ), 12, 9))
    dash.with_panel(lay.place(
        table.Panel()
        .title("Failed runs by provider and error type (all time)")
        .description("Totals over the whole run history.")
        .datasource(DATASOURCE)
        .targets([query(f"sum by (provider, error_type) (pricing_provider_errors_total{P})", instant=True)
                  .format(PromQueryFormat.TABLE)])
        .unit("none")
        .show_header(True)
        .cell_height(common.TableCellHeight.SM)
        .with_transformation(DataTransformerConfig(
            id_val="organize",
            options={"excludeByName": {"Time": True}, "renameByName": {"Value": "failed runs"}},
        )),
        12, 9,
    ))


SLOS = [
    ("pricing-sync-success", "Sync success (95%, 7d)"),
    ("pricing-sync-duration", "Runs within 60 s (95%, 7d)"),
    ("pricing-sync-freshness", "Freshness <= 8h (99%, 30d)"),
    ("pricing-sync-availability", "Availability (99%, 30d)"),
    ("dagster-webserver-uptime", "Webserver uptime (99.9%, 30d)"),
]


def slo(dash: db.Dashboard, lay: Layout) -> None:
    dash.with_row(lay.row("Error budget left over the SLO period"))
    for name, title in SLOS:
        dash.with_panel(lay.place(single(
            title, f"Share of the {name} error budget left (1 = untouched, below 0 = objective missed).",
            query(f'slo:error_budget_remaining:ratio{{slo="{name}"}}', instant=True), "percentunit",
            [(None, "red"), (0, "orange"), (0.25, "green")],
        ), 5 if name != "dagster-webserver-uptime" else 4, 5))

    dash.with_row(lay.row("SLI over the SLO period"))
    dash.with_panel(lay.place(bars(
        "Good share over the SLO period", "1 - error ratio over 7d (event-based) or 30d (time-based).",
        query("1 - (slo:sli_error:ratio_rate7d or slo:sli_error:ratio_rate30d)", "{{slo}}", instant=True), "percentunit",
        [(None, "red"), (0.95, "yellow"), (0.99, "green")],
    ), 12, 8))
    dash.with_panel(lay.place(bars(
        "Objectives", "slo:objective:ratio",
        query("slo:objective:ratio", "{{slo}}", instant=True), "percentunit", [(None, "blue")],
    ), 12, 8))

    dash.with_row(lay.row("Burn rates (1 = spends exactly the budget over the period)"))
    time_based = 'slo=~"pricing-sync-freshness|pricing-sync-availability|dagster-webserver-uptime"'
    event_based = 'slo=~"pricing-sync-success|pricing-sync-duration"'
    dash.with_panel(lay.place(graph(
        "Fast burn, time-based SLOs (page at 14.4x over 1h, 6x over 6h)", "",
        [query(f"slo:sli_error:ratio_rate1h{{{time_based}}} / on (slo) group_left () (1 - slo:objective:ratio)", "{{slo}} 1h", "A"),
         query(f"slo:sli_error:ratio_rate6h{{{time_based}}} / on (slo) group_left () (1 - slo:objective:ratio)", "{{slo}} 6h", "B")],
        "none", steps=[(None, "green"), (6, "orange"), (14.4, "red")],
    ), 12, 8))
    dash.with_panel(lay.place(graph(
        "Fast burn, event-based SLOs (page at 3x over 1d and 6h)", "",
        [query(f"slo:sli_error:ratio_rate1d{{{event_based}}} / on (slo) group_left () (1 - slo:objective:ratio)", "{{slo}} 1d", "A"),
         query(f"slo:sli_error:ratio_rate6h{{{event_based}}} / on (slo) group_left () (1 - slo:objective:ratio)", "{{slo}} 6h", "B")],
        "none", steps=[(None, "green"), (3, "red")],
    ), 12, 8))
    dash.with_panel(lay.place(graph(
        "Slow burn, all SLOs (ticket at 1x over 3d)", "",
        [query("slo:sli_error:ratio_rate3d / on (slo) group_left () (1 - slo:objective:ratio)", "{{slo}} 3d")],
        "none", steps=[(None, "green"), (1, "orange")],
    ), 24, 8))

    dash.with_row(lay.row("SLIs"))
    dash.with_panel(lay.place(graph(
        "Fresh providers (1 = prices at most 8h old)", "provider:pricing_sync_fresh:bool, the freshness SLI per provider.",
        query("provider:pricing_sync_fresh:bool", "{{provider}}"), "none",
    ), 12, 8))
    dash.with_panel(lay.place(graph(
        "Bad share right now (time-based SLIs)", "Freshness: share of stale providers; availability: 1 while the "
        "publisher is silent or the schedule stopped.",
        query("slo:sli_error:ratio", "{{slo}}"), "percentunit",
    ), 12, 8))
    dash.with_panel(lay.place(graph(
        "Webserver probe (/server_info)", "Blackbox probe of the Dagster webserver: success and duration.",
        [query('min(probe_success{job="dagster_webserver_probe"})', "success", "A"),
         query('max(probe_duration_seconds{job="dagster_webserver_probe"})', "duration (s)", "B")], "none",
    ), 12, 8))
    dash.with_panel(lay.place(
        text.Panel()
        .title("About these SLOs")
        .content(
            "Objectives, SLIs and burn-rate windows: `docs/PRICING_SYNC_SLOS.md`. Alerts: "
            "`monitoring/prometheus/pricing_sync_slos.yml`, runbook `docs/runbooks/slo-burn-rate.md`.\n\n"
            "The sync runs every 6 hours, so success and duration are counted per run over windows of "
            "whole intervals (6h, 1d, 3d, 7d); freshness, availability and uptime are time-based and use "
            "the SRE Workbook windows (5m to 30d)."
        )
        .mode("markdown"),
        12, 8,
    ))


# file -> (its panels, then base()'s arguments: title, uid, description[, provider_variable])
DASHBOARDS = {
    "pricing-sync-scheduler.json": (
        scheduler_health,
        "Pricing sync: scheduler health",
        "pricing-sync-scheduler",
        "Is the 6-hourly price sync running, publishing and fresh, per provider, and does the change "
        "watcher confirm upstream between the syncs.",
    ),
    "pricing-sync-system.json": (
        system_impact,
        "Pricing sync: system impact",
        "pricing-sync-system",
        "What a sync costs and where its time goes: CPU and memory of the runs, upstream latency, "
        "database writes, errors by type.",
    ),
    "pricing-sync-slo.json": (
        slo,
        "Pricing sync: SLOs and error budgets",
        "pricing-sync-slo",
        "The five SLOs of docs/PRICING_SYNC_SLOS.md: budget left, SLI over the period, burn rates.",
        False,  # no provider variable
    ),
}


def build(name: str) -> db.Dashboard:
    panels, *header = DASHBOARDS[name]
    dash = base(*header)
    panels(dash, Layout())
    return dash


def render(name: str) -> str:
    return json.dumps(build(name).build(), cls=JSONEncoder, indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", type=Path, default=OUTPUT, help="folder for the JSON files")
    parser.add_argument("--check", action="store_true", help="compare with the files instead of writing them")
    args = parser.parse_args(argv)
    stale = []
    for name in DASHBOARDS:
        path = args.output / name
        content = render(name)
        if args.check:
            if not path.exists() or path.read_text() != content:
                stale.append(str(path))
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
    if stale:
        print("out of date, run python monitoring/grafana/generate.py: " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
