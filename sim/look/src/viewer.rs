//! The trace viewer (`mta-lab view`): one self-contained HTML page — no server, no network, works
//! from a file — holding a run's trace records with their dissections. Filters by host, layer,
//! connection and event id; jumps between faults, event-log entries and findings; shows the
//! selected record's decoded PDU (the same dissection as `mta-lab decode`) and raw bytes.

use crate::chart::{Rec, dissections};
use crate::html::esc;

/// The page for `recs`, with the message sequence chart (SVG) embedded above the table.
pub fn page(title: &str, recs: &[Rec], chart_svg: &str) -> String {
    let dis = dissections(recs);
    let rows: Vec<serde_json::Value> = recs
        .iter()
        .zip(&dis)
        .map(|(r, d)| {
            serde_json::json!({
                "t": r.t_ms, "seq": r.seq, "host": r.host, "event": r.event, "layer": r.layer,
                "conn": r.connection, "local": r.local, "peer": r.peer, "pdu": r.pdu,
                "id": r.id, "type": r.event_type, "what": r.what, "hex": r.hex, "dis": d,
            })
        })
        .collect();
    // `</` cannot appear inside a script element.
    let data = serde_json::to_string(&rows)
        .unwrap_or_else(|_| "[]".into())
        .replace("</", "<\\/");
    format!(
        r#"<!doctype html>
<html><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font: 13px sans-serif; margin: 0; }}
header {{ padding: 6px 10px; background: #1f3b73; color: white; }}
#controls {{ padding: 6px 10px; background: #eef; position: sticky; top: 0; }}
#main {{ display: flex; height: calc(100vh - 90px); }}
#list {{ flex: 3; overflow: auto; }}
#detail {{ flex: 2; overflow: auto; border-left: 1px solid #ccc; padding: 6px; }}
table {{ border-collapse: collapse; width: 100%; }}
td, th {{ padding: 1px 5px; border-bottom: 1px solid #eee; text-align: left; white-space: nowrap; }}
tr.sel {{ background: #ffe9a8; }}
tr.fault td {{ color: #c05a00; font-weight: bold; }}
tr.oracle td {{ color: #d62728; font-weight: bold; }}
tr.eventlog td {{ color: #555; }}
pre {{ font-size: 12px; white-space: pre-wrap; }}
details {{ margin: 4px 10px; }}
</style></head>
<body>
<header>{title}</header>
<div id="controls">
host <select id="f-host"><option value="">all</option></select>
layer <select id="f-layer"><option value="">all</option></select>
connection <select id="f-conn"><option value="">all</option></select>
event id <input id="f-id" size="6" placeholder="e.g. 9301">
<button id="prev-fault">&#9664; fault</button><button id="next-fault">fault &#9654;</button>
<button id="prev-event">&#9664; event</button><button id="next-event">event &#9654;</button>
<span id="count"></span>
</div>
<details><summary>sequence chart</summary>{chart}</details>
<div id="main"><div id="list"><table><thead><tr><th>ms</th><th>host</th><th>event</th><th>conn</th><th>layer</th><th>summary</th></tr></thead><tbody id="rows"></tbody></table></div>
<div id="detail"><p>Select a record.</p></div></div>
<script>
"use strict";
const RECORDS = {data};
const $ = (id) => document.getElementById(id);
let shown = [];
let selected = -1;
function fill(sel, values) {{
  for (const v of values) {{ const o = document.createElement("option"); o.value = v; o.textContent = v; sel.appendChild(o); }}
}}
const uniq = (f) => [...new Set(RECORDS.map(f).filter((v) => v !== null && v !== "" && v !== undefined))].sort();
fill($("f-host"), uniq((r) => r.host));
fill($("f-layer"), uniq((r) => r.layer));
fill($("f-conn"), uniq((r) => r.conn === null ? null : r.host + " " + r.conn));
function summary(r) {{
  if (r.layer === "eventlog") return r.id + " " + (r.type || "") + ": " + r.what.split("\n").slice(-1)[0];
  if (r.pdu) return r.pdu + (r.local ? "  " + r.local + " \u2192 " + r.peer : "");
  return r.what;
}}
function matches(r) {{
  const h = $("f-host").value, l = $("f-layer").value, c = $("f-conn").value, id = $("f-id").value.trim();
  if (h && r.host !== h) return false;
  if (l && r.layer !== l) return false;
  if (c && (r.conn === null || r.host + " " + r.conn !== c)) return false;
  if (id && String(r.id) !== id) return false;
  return true;
}}
function render() {{
  const body = $("rows");
  body.textContent = "";
  shown = [];
  RECORDS.forEach((r, i) => {{
    if (!matches(r)) return;
    shown.push(i);
    const tr = document.createElement("tr");
    tr.className = r.layer + (i === selected ? " sel" : "");
    tr.dataset.index = i;
    for (const v of [r.t, r.host, r.event, r.conn === null ? "" : r.conn, r.layer, summary(r)]) {{
      const td = document.createElement("td"); td.textContent = v; tr.appendChild(td);
    }}
    tr.addEventListener("click", () => select(i));
    body.appendChild(tr);
  }});
  $("count").textContent = shown.length + " of " + RECORDS.length + " records";
}}
function hexdump(hex) {{
  const lines = [];
  for (let o = 0; o < hex.length / 2; o += 16) {{
    const b = hex.slice(o * 2, o * 2 + 32).match(/../g) || [];
    lines.push(o.toString(16).padStart(6, "0") + "  " + b.join(" "));
  }}
  return lines.join("\n");
}}
function select(i) {{
  selected = i;
  const r = RECORDS[i];
  const d = $("detail");
  d.textContent = "";
  const h = document.createElement("h4");
  h.textContent = r.t + " ms  " + r.host + " " + r.event + (r.conn === null ? "" : " (connection " + r.conn + ")");
  d.appendChild(h);
  const add = (title, text) => {{
    if (!text) return;
    const t = document.createElement("b"); t.textContent = title; d.appendChild(t);
    const p = document.createElement("pre"); p.textContent = text; d.appendChild(p);
  }};
  add("what", r.what);
  if (r.local) add("addresses", r.local + " \u2192 " + r.peer);
  add("decoded (mta-lab decode)", r.dis);
  add("raw bytes (" + (r.hex.length / 2) + " octets)", hexdump(r.hex));
  for (const tr of document.querySelectorAll("tr.sel")) tr.classList.remove("sel");
  const row = document.querySelector('tr[data-index="' + i + '"]');
  if (row) {{ row.classList.add("sel"); row.scrollIntoView({{ block: "nearest" }}); }}
}}
function jump(kind, dir) {{
  const want = (r) => kind === "fault" ? (r.layer === "fault" || r.layer === "oracle") : r.layer === "eventlog";
  const order = dir > 0 ? shown : [...shown].reverse();
  const next = order.find((i) => (dir > 0 ? i > selected : i < selected) && want(RECORDS[i]));
  if (next !== undefined) select(next);
}}
for (const id of ["f-host", "f-layer", "f-conn"]) $(id).addEventListener("change", render);
$("f-id").addEventListener("input", render);
$("next-fault").addEventListener("click", () => jump("fault", 1));
$("prev-fault").addEventListener("click", () => jump("fault", -1));
$("next-event").addEventListener("click", () => jump("event", 1));
$("prev-event").addEventListener("click", () => jump("event", -1));
render();
</script>
</body></html>
"#,
        title = esc(title),
        chart = chart_svg,
        data = data,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_embeds_every_record_and_no_script_breakout() {
        let recs = crate::chart::load(
            r#"{"schema":2,"t_ms":5,"seq":1,"host":"A","event":"log","what":"</script><b>x","connection":null,"layer":"eventlog","id":9301}"#,
        )
        .unwrap();
        let p = page("t", &recs, "<svg></svg>");
        assert_eq!(p.matches("</script>").count(), 1, "only the real end tag");
        assert!(p.contains("9301"));
        assert!(!p.contains("src=\"http"), "no external resources");
    }
}
