"""The monitor's reports: JSON for machines, Markdown for an issue, HTML with plots for people."""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import Any

from lastmile.files import write_json, write_text
from lastmile.monitoring.monitor import Assessment, Check

JSON_FILE = "monitor.json"
MARKDOWN_FILE = "monitor.md"
HTML_FILE = "monitor.html"
# Plots for the drifted features first, then the rest, up to this many (the HTML stays small).
MAX_PLOTS = 24


def as_json(result: Assessment) -> dict[str, Any]:
    return {
        "verdict": result.verdict,
        "drift": result.drifted,
        "drifted_features": result.drifted_features,
        "records": result.records,
        "window": {"first": result.first_time, "last": result.last_time},
        "files": result.files,
        "model_versions": result.model_versions,
        "profile_model_version": result.profile_version,
        "other_model_versions_left_out": result.other_versions,
        "contract": {
            "invalid_records": result.invalid_records,
            "invalid_share": round(result.invalid_share, 6),
            "max_invalid_share": result.settings.max_invalid_share,
            "by_rule": result.invalid_by_rule,
        },
        "not_monitored": result.not_monitored,
        "settings": result.settings.model_dump(exclude={"profile"}),
        "checks": [
            {
                "feature": c.feature,
                "kind": c.kind,
                "test": c.test,
                "p_value": c.p_value,
                "adjusted_p_value": c.adjusted_p,
                "size": round(c.size, 6),
                "size_measure": "missing rate change" if c.test == "missing rate" else "PSI",
                "threshold": c.threshold,
                **(
                    {"distance_sd": round(c.distance, 6), "max_distance_sd": c.max_distance}
                    if c.distance is not None
                    else {}
                ),
                "drift": c.drifted,
                **c.detail,
            }
            for c in result.checks
        ],
    }


def _size(check: Check) -> str:
    """The check's size against its threshold, and for numbers the distance against its own."""
    measure = "Δ missing" if check.test == "missing rate" else "PSI"
    size = f"{measure} {check.size:.3f} (max {check.threshold:g})"
    if check.distance is not None:
        size += f", distance {check.distance:.3f} sd (max {check.max_distance:g})"
    return size


def _row(check: Check) -> str:
    flag = "**drift**" if check.drifted else "ok"
    return f"| {check.feature} | {check.test} | {_size(check)} | {check.adjusted_p:.2g} | {flag} |"


def markdown(result: Assessment) -> str:
    settings = result.settings
    versions = ", ".join(f"{v} ({n:,})" for v, n in result.model_versions.items())
    files = ", ".join(result.files[:5]) + (" ..." if len(result.files) > 5 else "")
    lines = [
        f"## {'🔴' if result.drifted else '🟢'} {result.verdict}",
        "",
        f"Model versions in the window: {versions}; reference profile of {result.profile_version}.",
        f"Drift = adjusted p < {settings.alpha:g} ({settings.correction.replace('_', '-')}) and the change "
        "above its threshold (params.yaml `monitor:`).",
        "",
        f"Records breaking the data contract: {result.invalid_records:,} ({result.invalid_share:.2%}, "
        f"max {settings.max_invalid_share:.1%})"
        + (
            ""
            if not result.invalid_by_rule
            else ": " + "; ".join(f"{k} ({v:,})" for k, v in result.invalid_by_rule.items())
        ),
        "",
        "| feature | test | change | adjusted p | verdict |",
        "| --- | --- | --- | --- | --- |",
    ]
    ordered = sorted(result.checks, key=lambda c: (not c.drifted, -c.size))
    lines += [_row(c) for c in ordered]
    lines += [
        "",
        *(f"{name}: not monitored: {why}." for name, why in result.not_monitored.items()),
        "",
        f"Files: {len(result.files)} ({files})",
        "",
    ]
    return "\n".join(lines)


def _plot(name: str, labels: list[str], reference: list[float], window: list[float], drifted: bool) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    shown = min(len(labels), 20)
    order = (
        np.argsort(-np.asarray(reference) - np.asarray(window))[:shown]
        if len(labels) > shown
        else range(shown)
    )
    positions = np.arange(shown)
    figure, axis = plt.subplots(figsize=(6, 2.6), dpi=80)
    axis.bar(positions - 0.2, [reference[i] for i in order], 0.4, label="reference")
    axis.bar(
        positions + 0.2,
        [window[i] for i in order],
        0.4,
        label="window",
        color="#d62728" if drifted else "#2ca02c",
    )
    axis.set_xticks(positions, [labels[i][:14] for i in order], rotation=45, ha="right", fontsize=7)
    axis.set_ylabel("share")
    axis.set_title(name + (" (drift)" if drifted else ""), fontsize=9)
    axis.legend(fontsize=7)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode()


def html_page(result: Assessment) -> str:
    drifted = set(result.drifted_features)
    names = sorted(result.plots, key=lambda n: (n not in drifted, n))[:MAX_PLOTS]
    images = "\n".join(
        f'<figure><img alt="{html.escape(n)}: reference and window shares" '
        f'src="data:image/png;base64,{_plot(n, *result.plots[n], n in drifted)}"></figure>'
        for n in names
    )
    rows = "\n".join(
        f"<tr class={'drift' if c.drifted else 'ok'}><td>{html.escape(c.feature)}</td><td>{c.test}</td>"
        f"<td>{html.escape(_size(c))}</td><td>{c.adjusted_p:.2g}</td>"
        f"<td>{'drift' if c.drifted else 'ok'}</td></tr>"
        for c in sorted(result.checks, key=lambda c: (not c.drifted, -c.size))
    )
    unmonitored = "".join(
        f"<p>{html.escape(name)}: not monitored: {html.escape(why)}.</p>"
        for name, why in result.not_monitored.items()
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Lastmile drift monitor</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:auto}} tr.drift{{background:#fdd}}
td,th{{padding:2px 8px;text-align:left}} figure{{display:inline-block;margin:4px}}</style></head>
<body><h1>Drift monitor</h1><p><strong>{html.escape(result.verdict)}</strong></p>
<p>Records breaking the data contract: {result.invalid_records:,} ({result.invalid_share:.2%}).
{html.escape("; ".join(f"{k} ({v:,})" for k, v in result.invalid_by_rule.items()))}</p>
{unmonitored}
<table><tr><th>feature</th><th>test</th><th>change (max)</th><th>adjusted p</th><th></th></tr>
{rows}</table>
<h2>Reference and window</h2>
{images}
</body></html>
"""


def write(result: Assessment, out: Path) -> dict[str, Path]:
    """Write the three reports into `out`; returns their paths."""
    paths = {"json": out / JSON_FILE, "markdown": out / MARKDOWN_FILE, "html": out / HTML_FILE}
    write_json(paths["json"], as_json(result))
    write_text(paths["markdown"], markdown(result))
    write_text(paths["html"], html_page(result))
    return paths
