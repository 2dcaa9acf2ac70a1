//! A self-contained HTML report: inline CSS, a small inline script, no network. Holds the
//! verdict, an inline SVG memory timeline (RSS and V8 used heap, phase markers, post-GC points),
//! the load figures per round, and each finding with its retainer path and source line.

use super::{escape, CheckReport, FindingView};
use crate::loadgen::LoadStats;
use crate::units::{fmt_bytes, fmt_delta};
use crate::verdict::Level;
use std::fmt::Write;

const W: f64 = 960.0;
const H: f64 = 320.0;
const ML: f64 = 72.0;
const MR: f64 = 16.0;
const MT: f64 = 28.0;
const MB: f64 = 36.0;

const CSS: &str = r#"
:root{--fg:#1d2330;--muted:#5d6678;--line:#d9dee8;--bg:#f6f7fa;--card:#fff;--red:#c62828;--yellow:#b7791f;--green:#2e7d32;--rss:#6a4cc2;--heap:#0a7bbd}
*{box-sizing:border-box}body{margin:0;font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
main{max-width:1040px;margin:0 auto;padding:24px}h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 10px}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:16px 18px;margin:12px 0}
.badge{display:inline-block;padding:2px 10px;border-radius:12px;color:#fff;font-weight:600;text-transform:uppercase;font-size:12px;letter-spacing:.04em}
.badge.red{background:var(--red)}.badge.yellow{background:var(--yellow)}.badge.green{background:var(--green)}
.muted{color:var(--muted)}code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:13px}
table{border-collapse:collapse;width:100%}th,td{text-align:right;padding:4px 8px;border-bottom:1px solid var(--line)}th:first-child,td:first-child{text-align:left}
th{color:var(--muted);font-weight:600}
.kv{display:grid;grid-template-columns:repeat(auto-fill,minmax(210px,1fr));gap:8px 16px}.kv div span{display:block;color:var(--muted);font-size:12px}
svg text{font-size:11px;fill:var(--muted)}.axis{stroke:var(--line)}.line{fill:none;stroke-width:2}.line.rss{stroke:var(--rss)}.line.heap{stroke:var(--heap)}
.marker{stroke:#9aa3b5;stroke-dasharray:3 3}.gcpt{fill:var(--heap);stroke:#fff;stroke-width:1.5}
.legend span{display:inline-block;margin-right:16px}.legend i{display:inline-block;width:14px;height:3px;margin-right:6px;vertical-align:middle}
#tip{position:fixed;pointer-events:none;background:#1d2330;color:#fff;padding:4px 8px;border-radius:4px;font-size:12px;display:none}
.finding h3{margin:0 0 6px;font-size:15px}.where{font-weight:600}
pre.src{background:#f3f4f8;border-radius:6px;padding:8px 0;overflow-x:auto;margin:8px 0}pre.src span{display:block;padding:0 12px}pre.src span.hit{background:#ffe8a3}
pre.src b{display:inline-block;width:3.5em;color:var(--muted);font-weight:normal;user-select:none}
ol.path{margin:6px 0;padding-left:22px}ol.path li{margin:2px 0}
"#;

const JS: &str = r#"
(function(){var d=JSON.parse(document.getElementById('timeline-data').textContent);var svg=document.getElementById('timeline');var tip=document.getElementById('tip');
if(!svg||!d.samples.length)return;function fmt(b){var u=['B','KB','MB','GB'],i=0;while(b>=1024&&i<3){b/=1024;i++}return b.toFixed(b>=100?0:1)+' '+u[i]}
svg.addEventListener('mousemove',function(e){var r=svg.getBoundingClientRect();var x=(e.clientX-r.left)*(d.w/r.width);var t=(x-d.ml)/d.sx;var best=d.samples[0];
for(var i=0;i<d.samples.length;i++){if(Math.abs(d.samples[i].t_ms-t)<Math.abs(best.t_ms-t))best=d.samples[i]}
tip.style.display='block';tip.style.left=(e.clientX+12)+'px';tip.style.top=(e.clientY+12)+'px';
tip.textContent=(best.t_ms/1000).toFixed(1)+'s  RSS '+fmt(best.rss)+(best.heap_used!=null?'  heap '+fmt(best.heap_used):'')});
svg.addEventListener('mouseleave',function(){tip.style.display='none'})})();
"#;

fn path_d(points: &[(f64, f64)]) -> String {
    let mut d = String::new();
    for (i, (x, y)) in points.iter().enumerate() {
        let _ = write!(d, "{}{x:.1},{y:.1}", if i == 0 { "M" } else { " L" });
    }
    d
}

/// Round-ish tick step for `max` split in about `n` parts.
fn nice_step(max: f64, n: f64) -> f64 {
    if max <= 0.0 {
        return 1.0;
    }
    let raw = max / n;
    let mag = 10f64.powf(raw.log10().floor());
    let f = raw / mag;
    let nice = if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * mag
}

fn chart(report: &CheckReport) -> (String, f64) {
    let s = &report.timeline.samples;
    let t_max = s
        .iter()
        .map(|x| x.t_ms)
        .chain(report.timeline.markers.iter().map(|m| m.t_ms))
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let y_max_raw = s
        .iter()
        .map(|x| x.rss.max(x.heap_used.unwrap_or(0)))
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    const MIB: f64 = 1024.0 * 1024.0;
    let step = nice_step(y_max_raw / MIB * 1.08, 5.0) * MIB;
    let y_max = (y_max_raw * 1.02 / step).ceil() * step;
    let pw = W - ML - MR;
    let ph = H - MT - MB;
    let sx = pw / t_max;
    let x = |t: u64| ML + t as f64 * sx;
    let y = |v: u64| MT + ph - (v as f64 / y_max) * ph;
    let mut out = String::new();
    let _ = write!(
        out,
        "<svg id=\"timeline\" viewBox=\"0 0 {W} {H}\" width=\"100%\" role=\"img\" aria-label=\"Memory timeline\" xmlns=\"http://www.w3.org/2000/svg\">"
    );
    // Y grid and labels.
    let mut v = 0.0;
    while v <= y_max + 1.0 {
        let yy = MT + ph - v / y_max * ph;
        let _ = write!(
            out,
            "<line class=\"axis\" x1=\"{ML}\" x2=\"{}\" y1=\"{yy:.1}\" y2=\"{yy:.1}\"/><text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            W - MR,
            ML - 6.0,
            yy + 4.0,
            escape(&fmt_bytes(v as u64))
        );
        v += step;
    }
    // X labels in seconds.
    let tstep = nice_step(t_max / 1000.0, 8.0);
    let mut t = 0.0;
    while t * 1000.0 <= t_max + 1.0 {
        let xx = ML + t * 1000.0 * sx;
        let _ = write!(
            out,
            "<text x=\"{xx:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}s</text>",
            H - MB + 16.0,
            if tstep < 1.0 {
                format!("{t:.1}")
            } else {
                format!("{t:.0}")
            }
        );
        t += tstep;
    }
    for m in &report.timeline.markers {
        let xx = x(m.t_ms);
        let _ = write!(
            out,
            "<line class=\"marker\" x1=\"{xx:.1}\" x2=\"{xx:.1}\" y1=\"{MT}\" y2=\"{:.1}\"/><text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            MT + ph,
            xx + 3.0,
            MT - 8.0,
            escape(&m.label)
        );
    }
    let rss: Vec<(f64, f64)> = s.iter().map(|p| (x(p.t_ms), y(p.rss))).collect();
    let heap: Vec<(f64, f64)> = s
        .iter()
        .filter_map(|p| p.heap_used.map(|h| (x(p.t_ms), y(h))))
        .collect();
    let _ = write!(
        out,
        "<path id=\"rss-line\" class=\"line rss\" d=\"{}\"/><path id=\"heap-line\" class=\"line heap\" d=\"{}\"/>",
        path_d(&rss),
        path_d(&heap)
    );
    let mut points = vec![("baseline".to_string(), &report.baseline)];
    for r in &report.rounds {
        points.push((format!("round {}", r.round), &r.after));
    }
    for (label, p) in points {
        let _ = write!(
            out,
            "<circle class=\"gcpt\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"4.5\"><title>{}: post-GC heap {}</title></circle>",
            x(p.t_ms),
            y(p.post_gc_heap),
            escape(&label),
            escape(&fmt_bytes(p.post_gc_heap))
        );
    }
    let _ = write!(
        out,
        "<line class=\"axis\" x1=\"{ML}\" x2=\"{ML}\" y1=\"{MT}\" y2=\"{:.1}\"/></svg>",
        MT + ph
    );
    (out, sx)
}

fn load_row(out: &mut String, label: &str, s: &LoadStats) {
    let _ = write!(
        out,
        "<tr><td>{}</td><td>{}</td><td>{:.0}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{}</td><td>{}</td></tr>",
        escape(label),
        s.requests,
        s.requests_per_sec,
        s.latency.p50_ms,
        s.latency.p90_ms,
        s.latency.p99_ms,
        s.latency.max_ms,
        s.errors + s.timeouts,
        s.non_2xx
    );
}

fn finding_card(out: &mut String, f: &FindingView, fail_on: f64) {
    let failing = f.confidence >= fail_on;
    let _ = write!(
        out,
        "<div class=\"card finding\"><h3><span class=\"badge {}\">{}</span> {}</h3>",
        if failing { "red" } else { "yellow" },
        escape(&f.kind_name()),
        escape(&f.title)
    );
    let _ = write!(
        out,
        "<div class=\"muted\">confidence <b>{:.2}</b>{}{}</div>",
        f.confidence,
        if f.class.is_empty() {
            String::new()
        } else {
            format!(" · class <code>{}</code>", escape(&f.class))
        },
        if f.counts.is_empty() {
            String::new()
        } else {
            format!(
                " · count per snapshot {}",
                escape(
                    &f.counts
                        .iter()
                        .map(|c| c.map(|c| c.to_string()).unwrap_or_else(|| "?".into()))
                        .collect::<Vec<_>>()
                        .join(" → ")
                )
            )
        }
    );
    if !f.retained_sizes.is_empty() {
        let _ = write!(
            out,
            "<div class=\"muted\">retained {}</div>",
            escape(
                &f.retained_sizes
                    .iter()
                    .map(|b| b.map(fmt_bytes).unwrap_or_else(|| "?".into()))
                    .collect::<Vec<_>>()
                    .join(" → ")
            )
        );
    }
    if let Some(src) = &f.source {
        let _ = write!(
            out,
            "<p>at <span class=\"where mono\">{}</span></p>",
            escape(&format!("{}:{}:{}", src.file, src.line, src.column))
        );
        if !src.context.is_empty() {
            out.push_str("<pre class=\"src\">");
            for (n, text) in &src.context {
                let _ = write!(
                    out,
                    "<span{}><b>{n}</b>{}</span>",
                    if *n == src.line { " class=\"hit\"" } else { "" },
                    escape(text)
                );
            }
            out.push_str("</pre>");
        }
    }
    if !f.retainer_path.is_empty() {
        out.push_str("<div>Retained by (GC root first):</div><ol class=\"path mono\">");
        for step in &f.retainer_path {
            let holder = if step.holder_name.is_empty() || step.holder_name == step.holder_class {
                step.holder_class.clone()
            } else {
                format!("{} {}", step.holder_class, step.holder_name)
            };
            let _ = write!(
                out,
                "<li>{}{}</li>",
                escape(&holder),
                if step.edge.is_empty() {
                    String::new()
                } else {
                    format!(" <b>{}</b>", escape(&step.edge))
                }
            );
        }
        out.push_str("</ol>");
    }
    if !f.suggestion.is_empty() {
        let _ = write!(out, "<p><b>Fix:</b> {}</p>", escape(&f.suggestion));
    }
    out.push_str("</div>");
}

pub fn render(report: &CheckReport) -> String {
    let v = &report.verdict;
    let (svg, sx) = chart(report);
    let mut body = String::new();
    let level = v.level.as_str();
    let _ = write!(
        body,
        "<h1>leakhound check <span class=\"badge {level}\" id=\"verdict\">{level}</span> <span class=\"badge {}\">{}</span></h1>",
        if report.exit_code == 0 { "green" } else { "red" },
        escape(&report.status)
    );
    let _ = write!(
        body,
        "<div class=\"muted mono\">{} · in {} · {} rounds of {} · {} connections · load: {}</div>",
        escape(&report.scenario.cmd),
        escape(&report.scenario.cwd.display().to_string()),
        report.scenario.rounds,
        escape(&report.scenario.amount),
        report.scenario.connections,
        escape(&report.scenario.load)
    );

    body.push_str("<h2>Memory verdict</h2><div class=\"card\"><ul>");
    for r in &v.reasons {
        let _ = write!(body, "<li>{}</li>", escape(r));
    }
    body.push_str("</ul><div class=\"kv\">");
    let mut kv = |k: &str, val: String| {
        let _ = write!(
            body,
            "<div><span>{}</span>{}</div>",
            escape(k),
            escape(&val)
        );
    };
    kv("baseline heap (post-GC)", fmt_bytes(v.baseline_heap));
    kv("final heap (post-GC)", fmt_bytes(v.final_heap));
    kv("growth per round", fmt_delta(v.growth_per_round as i64));
    kv(
        "growth per 1000 requests",
        v.growth_per_1000_requests
            .map(|g| fmt_delta(g as i64))
            .unwrap_or_else(|| "n/a".into()),
    );
    kv("peak / baseline", format!("{:.2}×", v.max_ratio));
    kv(
        "RSS after warm-up → peak",
        match (v.rss_baseline, v.rss_max) {
            (Some(a), Some(b)) => format!("{} → {}", fmt_bytes(a), fmt_bytes(b)),
            _ => "n/a".into(),
        },
    );
    body.push_str("</div></div>");

    body.push_str("<h2>Memory timeline</h2><div class=\"card\"><div class=\"legend\"><span><i style=\"background:var(--rss)\"></i>RSS (process group)</span><span><i style=\"background:var(--heap)\"></i>V8 used heap</span><span>● post-GC heap at each snapshot</span></div>");
    body.push_str(&svg);
    body.push_str("</div>");

    body.push_str("<h2>Load</h2><div class=\"card\">");
    let any_builtin = report.rounds.iter().any(|r| r.load.is_some());
    if any_builtin {
        body.push_str("<table id=\"load\"><tr><th>phase</th><th>requests</th><th>req/s</th><th>p50 ms</th><th>p90 ms</th><th>p99 ms</th><th>max ms</th><th>errors</th><th>non-2xx</th></tr>");
        if let Some(w) = &report.load.warmup {
            load_row(&mut body, "warm-up", w);
        }
        for r in &report.rounds {
            if let Some(l) = &r.load {
                load_row(&mut body, &format!("round {}", r.round), l);
            }
        }
        if let Some(t) = &report.load.total {
            load_row(&mut body, "all rounds", t);
        }
        body.push_str("</table>");
    } else {
        body.push_str("<table id=\"load\"><tr><th>round</th><th>command</th><th>status</th><th>seconds</th></tr>");
        for r in &report.rounds {
            if let Some(e) = &r.load_cmd {
                let _ = write!(
                    body,
                    "<tr><td>round {}</td><td class=\"mono\">{}</td><td>{}</td><td>{:.1}</td></tr>",
                    r.round,
                    escape(&e.cmd),
                    escape(&e.status),
                    e.elapsed_secs
                );
            }
        }
        body.push_str("</table>");
    }
    body.push_str("</div>");

    let views = report.views();
    let _ = write!(
        body,
        "<h2>Findings ({}; {} at or above fail-on {:.2})</h2>",
        views.len(),
        report.failing_findings,
        report.scenario.fail_on
    );
    if let Some(e) = &report.finder_error {
        let _ = write!(
            body,
            "<div class=\"card\">The leak finder could not run: {}</div>",
            escape(e)
        );
    } else if views.is_empty() {
        body.push_str("<div class=\"card\">No leak patterns found across the snapshots.</div>");
    }
    for f in &views {
        finding_card(&mut body, f, report.scenario.fail_on);
    }

    body.push_str("<h2>Files</h2><div class=\"card mono\"><div>app log: ");
    body.push_str(&escape(&report.app.log.display().to_string()));
    body.push_str("</div>");
    for p in std::iter::once(&report.baseline).chain(report.rounds.iter().map(|r| &r.after)) {
        if let Some(s) = &p.snapshot {
            let _ = write!(
                body,
                "<div>{} ({})</div>",
                escape(&s.display().to_string()),
                escape(&fmt_bytes(p.snapshot_bytes))
            );
        }
    }
    body.push_str("</div>");

    let data = serde_json::json!({
        "samples": report.timeline.samples,
        "w": W, "ml": ML, "sx": sx,
    });
    // `</` cannot appear inside the script element.
    let data = data.to_string().replace("</", "<\\/");
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>leakhound check: {level}</title><style>{CSS}</style></head><body><main>{body}</main><div id=\"tip\"></div>\
         <script type=\"application/json\" id=\"timeline-data\">{data}</script><script>{JS}</script></body></html>\n"
    )
}

/// Whether a level is worth a red badge (used by callers that colour summaries).
pub fn is_bad(level: Level) -> bool {
    level == Level::Red
}
