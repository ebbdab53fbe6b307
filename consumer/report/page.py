"""The report as one self-contained HTML page: the outcome, the settings, the charts and a table
of the micro-batches."""

from __future__ import annotations

import html
from pathlib import Path

from consumer.report.charts import charts
from consumer.report.log import Report

STYLE = """body{font-family:sans-serif;margin:2em;max-width:1000px;color:#222}
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:2px 8px;
text-align:right}td:first-child,th:first-child{text-align:left}h1{font-size:22px}
.chart{margin:1.5em 0}.outcome{font-weight:bold}.caption{font-size:13px;color:#444;margin:0 0 0 1em}
.verdict{font-size:18px;font-weight:bold;padding:6px 10px;border-radius:4px}
.agree{background:#e3f4e3;color:#185c18}.differ{background:#fbe3e3;color:#8b1a1a}"""

VERDICTS = {
    "agree": "The check: agree. What Spark wrote is what {oracle} says a correct query "
    "writes (exit 0).",
    "DIFFER": "The check: DIFFER. What Spark wrote is not what {oracle} says a correct "
    "query writes (exit 1): {where}.",
}
WHERE = {
    "the answer key": "the consumer's table says where (a watermark query's last chart too)",
    "the same query without streaming": "the differences below say which rows",
}


def render(report: Report) -> str:
    rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(str(v))}</td></tr>"
                   for k, v in report.settings.items())  # fmt: skip
    head = ("<tr><th>query</th><th>batch</th><th>input rows</th><th>input rows/s</th>"
            "<th>processed rows/s</th><th>duration ms</th><th>watermark</th>"
            "<th>rows in state</th></tr>")  # fmt: skip
    batches = []
    for p in report.progress[-500:]:
        state = sum(o.get("numRowsTotal", 0) for o in p.get("stateOperators") or [])
        batches.append(
            f"<tr><td>{html.escape(str(p.get('name')))}</td><td>{p['batchId']}</td>"
            f"<td>{p['numInputRows']}</td><td>{p.get('inputRowsPerSecond') or 0:.1f}</td>"
            f"<td>{p.get('processedRowsPerSecond') or 0:.1f}</td>"
            f"<td>{(p.get('durationMs') or {}).get('triggerExecution', '')}</td>"
            f"<td>{html.escape(_watermark(p))}</td>"
            f"<td>{state}</td></tr>"
        )
    title = html.escape(report.settings.get("consumer", "consumer"))
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title} run report</title>"
        f"<style>{STYLE}</style></head><body><h1>{title}: run report</h1>{_verdict(report)}"
        f"<p class='outcome'>Outcome: {html.escape(report.outcome)}</p>{_check(report)}"
        f"<h2>Settings</h2><table>{rows}</table><h2>Charts</h2>{_figures(report)}"
        f"<h2>Micro-batches</h2><table>{head}{''.join(batches)}</table></body></html>\n"
    )


def inline(report: Report) -> str:
    """The verdict, the outcome and the charts with their captions, as a piece of a page that
    styles nothing around it (a notebook's cell output: `Report._repr_html_`)."""
    verdict = _verdict(report, styled=True)
    figures = _figures(report, styled=True)
    return (f"<div>{verdict}<p><b>Outcome: {html.escape(report.outcome)}</b></p>"
            f"{figures}</div>")  # fmt: skip


def _verdict(report: Report, styled: bool = False) -> str:
    if report.verdict is None:
        return ""
    kind = "agree" if report.verdict == "agree" else "differ"
    template = VERDICTS.get(report.verdict, f"The check: {report.verdict}")
    where = WHERE.get(report.oracle, "the output says where")
    text = html.escape(template.format(oracle=report.oracle, where=where))
    if styled:
        colours = "background:#e3f4e3;color:#185c18" if kind == "agree" else (
            "background:#fbe3e3;color:#8b1a1a")  # fmt: skip
        return f"<p style='{colours};font-weight:bold;padding:6px 10px'>{text}</p>"
    return f"<p class='verdict {kind}'>{text}</p>"


CHECKED = (("batch", "batch"), ("files", "files read"), ("rows_in", "rows read"),
           ("dropped_late", "dropped as late"), ("rows_out", "rows written"))  # fmt: skip


def _check(report: Report) -> str:
    """`consumer check`: the rows that differ from the twin's, and the stream batch by batch."""
    if not report.batches:
        return ""
    differences = ("<pre>" + html.escape("\n".join(report.differences)) + "</pre>"
                   if report.differences else
                   "<p>No row differs: the stream wrote what the query computes without "
                   "streaming.</p>")  # fmt: skip
    head = "".join(f"<th>{html.escape(title)}</th>" for _, title in CHECKED)
    rows = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_cell(b.get(key)))}</td>" for key, _ in CHECKED)
        + "</tr>" for b in report.batches
    )  # fmt: skip
    return (f"<h2>The stream against {html.escape(report.oracle)}</h2>{differences}"
            f"<h3>Batch by batch</h3><table>{head}{rows}</table>")  # fmt: skip


def _cell(value: object) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(map(str, value))
    return "not known" if value is None else str(value)


def _figures(report: Report, styled: bool = False) -> str:
    caption = 'style="font-size:13px;color:#444"' if styled else 'class="caption"'
    return "".join(f'<div class="chart">{svg}<p {caption}>{html.escape(text)}</p></div>'
                   for svg, text in charts(report))  # fmt: skip


def _watermark(progress: dict[str, object]) -> str:
    """A batch's watermark as the table shows it: none yet, rather than 1970-01-01."""
    mark = str((progress.get("eventTime") or {}).get("watermark", ""))  # type: ignore[attr-defined]
    return "none yet" if mark.startswith("1970-01-01T00:00:00") else mark.replace("T", " ")


def write(report: Report, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(render(report))
    tmp.replace(path)
