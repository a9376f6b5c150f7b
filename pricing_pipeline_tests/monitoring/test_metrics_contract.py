"""Every metric name, label and label value used by a rule, a dashboard or a runbook query is
in the contract (monitoring/METRICS.md) or is a recording rule of ours. This is the check the
old monitoring files, with alerts and panels on metrics that never existed, would have failed."""

from __future__ import annotations

import re

import pytest

from pricing_pipeline_tests.monitoring._support import (
    EXTERNAL_METRICS,
    RUNBOOK_DIR,
    Selector,
    all_rules,
    dashboard_queries,
    expand_grafana,
    load_contract,
    recording_names,
    selectors,
    variable_queries,
)

CONTRACT = load_contract()
SERIES = CONTRACT.series_names()
RECORDED = recording_names()


def _runbook_queries() -> list[tuple[str, str]]:
    out = []
    for path in sorted(RUNBOOK_DIR.glob("*.md")):
        for expr in re.findall(r"promtool query instant \S+ '([^']+)'", path.read_text()):
            out.append((path.name, expr))
    return out


RULE_EXPRS = [(rule.get("alert") or rule["record"], rule["expr"]) for rule in all_rules()]
DASHBOARD_EXPRS = [(f"{d}: {title}", expand_grafana(expr)) for d, title, expr in dashboard_queries()]
RUNBOOK_EXPRS = _runbook_queries()


def _check_selector(where: str, sel: Selector) -> None:
    if sel.name in EXTERNAL_METRICS:
        return
    if sel.name in RECORDED:
        return
    assert sel.name in SERIES, f"{where}: {sel.name!r} is neither in monitoring/METRICS.md nor a recording rule"
    allowed = CONTRACT.labels_of(sel.name)
    for label, op, value in sel.matchers:
        assert label in allowed, f"{where}: {sel.name} has no label {label!r} (contract: {sorted(allowed)})"
        known = CONTRACT.values_of(sel.name, label)
        if known is None or value in ("", ".*", ".+"):
            continue
        if op in ("Equal", "NotEqual"):
            values = {value}
        elif re.fullmatch(r"[a-z0-9_|]+", value):  # a plain alternation such as "failure|blocked"
            values = set(value.split("|"))
        else:
            continue
        unknown = values - known
        # Alert tests use made-up providers; rules and dashboards may only name real ones.
        assert not unknown, f"{where}: {label} value(s) {sorted(unknown)} not in METRICS.md"


@pytest.mark.parametrize("where,expr", RULE_EXPRS + DASHBOARD_EXPRS + RUNBOOK_EXPRS,
                         ids=[w for w, _ in RULE_EXPRS + DASHBOARD_EXPRS + RUNBOOK_EXPRS])
def test_metric_names_labels_and_values_are_in_the_contract(where, expr):
    found = selectors(expr)
    constant = re.fullmatch(r"vector\([0-9.]+\)", expr.strip())  # e.g. an SLO objective
    assert found or constant, f"{where}: no metric in {expr!r}"
    for sel in found:
        _check_selector(where, sel)


def test_recorded_series_only_derive_from_the_contract():
    # a recording rule built on a non-contract metric would launder it through the check above
    for rule in all_rules():
        if "record" in rule:
            for sel in selectors(rule["expr"]):
                assert sel.name in SERIES or sel.name in RECORDED or sel.name in EXTERNAL_METRICS, (rule["record"], sel.name)


def test_dashboard_variables_query_contract_metrics():
    queries = variable_queries()
    assert queries
    for dashboard, name, query in queries:
        m = re.fullmatch(r"label_values\((\w+), (\w+)\)", query)
        assert m, f"{dashboard} ${name}: {query}"
        assert m.group(1) in SERIES and m.group(2) in CONTRACT.labels_of(m.group(1))


def test_everything_the_contract_defines_is_watched():
    """Each contract metric is used by at least one rule or dashboard: a metric nobody looks at is
    either missing monitoring or should leave the contract."""
    used = set()
    for _, expr in RULE_EXPRS + DASHBOARD_EXPRS:
        used |= {s.name for s in selectors(expr)}
    for metric in CONTRACT.metrics.values():
        names = {metric.name + s for s in ("_bucket", "_sum", "_count")} if metric.type == "histogram" else {metric.name}
        assert names & used, f"{metric.name} is not used by any rule or dashboard"


def test_the_checker_rejects_unknown_names_labels_and_values():
    """The check above can fail: the mistakes of the old files are caught."""
    bad = [
        "pricing_sync_success_total",  # invented metric
        'pricing_last_sync_models{model="gpt"}',  # unbounded label not in the contract
        'pricing_provider_errors_total{error_type="timeouts"}',  # value not in the fixed list
        'pricing_scheduled_sync_runs_total{status=~"failed|blocked"}',
        # a label's values listed for one metric hold for that metric only
        'pricing_watch_polls_total{outcome="exact"}',
        'pricing_bills_reconciled_total{outcome="unchanged"}',
    ]
    for expr in bad:
        with pytest.raises(AssertionError):
            for sel in selectors(expr):
                _check_selector("self-test", sel)
    # and the values listed for a metric are accepted on it
    for expr in ('pricing_watch_polls_total{outcome="unchanged"}',
                 'pricing_watch_polls_total{outcome=~"changed|error"}',
                 'pricing_bills_reconciled_total{outcome="exact"}'):
        for sel in selectors(expr):
            _check_selector("self-test", sel)
