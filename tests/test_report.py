#!/usr/bin/python3
"""`tanxiao report`: generate a small city, run it, write the HTML page and open it in headless
Chromium. Checks that the page loads without console errors, that every chart rendered
(each container has a canvas of non-zero size and data-rendered="S series, P points" set by
the page's script, and the final #tx-done marker counts them all), that it references nothing
on the network, that the city summary, the provenance and the enterprise tables match the
results file, that hostile names (quotes, <, &, </script>) are escaped, and that the console
check itself catches a deliberately broken page and an external resource.

usage: test_report.py TANXIAO PLUGIN_DIR WORK_DIR
Needs the Debian package chromium (scripts/setup.sh installs it) and ECharts from `npm ci`.
"""
import html
import html.parser
import math
import os
import re
import shutil
import subprocess
import sys

import h5py
import numpy as np

TANXIAO, PLUGIN_DIR, WORK = sys.argv[1], sys.argv[2], sys.argv[3]
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TABLES = os.path.join(ROOT, "datasets", "tables")
ECHARTS = os.path.join(ROOT, "node_modules", "echarts", "dist", "echarts.min.js")
failures = []
checks = 0


def check(cond, what):
    global checks
    checks += 1
    if not cond:
        failures.append(what)
        if len(failures) <= 40:
            print("FAIL:", what)


def run(*args, env=None):
    return subprocess.run(args, capture_output=True, text=True, env=env, timeout=600)


def sh(*args):
    r = run(*args)
    if r.returncode != 0:
        print(r.stdout)
        print(r.stderr)
        raise SystemExit("command failed: %s" % " ".join(args))
    return r.stdout


# ---- prerequisites: fail clearly, never install anything ------------------------------------
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if not CHROMIUM:
    raise SystemExit("test_report: chromium not found; install the Debian package 'chromium' "
                     "(scripts/setup.sh does)")
if not os.path.exists(ECHARTS):
    raise SystemExit("test_report: %s missing; run 'npm ci' in the source tree "
                     "(scripts/setup.sh does)" % ECHARTS)
r = run(TANXIAO, "report", "--help")
if r.returncode != 0:
    raise SystemExit("test_report: 'tanxiao report --help' failed (is the report command "
                     "dispatched in engine/cli.c?): %s" % r.stderr.strip())
for opt in ("-o, --output", "--echarts", "--title", "--tables", "--top", "TANXIAO_ECHARTS",
            "-h, --help"):
    check(opt in r.stdout, "report --help explains %s" % opt)


def browse(page, shot=None):
    """Loads page in headless Chromium; returns (dom, console lines). Any host lookup fails,
    so a page that tried the network would also log an error."""
    prof = os.path.join(WORK, "chromium-profile")
    shutil.rmtree(prof, ignore_errors=True)
    args = [CHROMIUM, "--headless", "--disable-gpu", "--no-sandbox",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--no-first-run", "--no-default-browser-check", "--user-data-dir=" + prof,
            "--host-resolver-rules=MAP * ~NOTFOUND", "--enable-logging=stderr", "--v=0",
            "--virtual-time-budget=5000", "--window-size=1200,1500", "--hide-scrollbars"]
    args += ["--screenshot=" + shot] if shot else ["--dump-dom"]
    env = dict(os.environ, HOME=WORK)
    r = run(*args, "file://" + os.path.abspath(page), env=env)
    if r.returncode != 0:
        print(r.stderr[-3000:])
        raise SystemExit("chromium failed on %s (exit %d)" % (page, r.returncode))
    console = [l for l in r.stderr.splitlines()
               if ":CONSOLE" in l or "Uncaught" in l or "Content Security Policy" in l]
    return r.stdout, console


class Dom(html.parser.HTMLParser):
    """Elements with their attributes, and the text of every element that has an id or a
    data-key (enough for the summary cards and tables)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.elements = []  # (tag, attrs dict, index of its text in self.texts)
        self.stack = []
        self.texts = []
        self.tables = {}  # table id -> list of rows (list of cell texts)
        self.table = None
        self.cell = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.texts.append("")
        self.elements.append((tag, a, len(self.texts) - 1))
        if tag not in ("meta", "br", "img", "input", "link", "hr"):
            self.stack.append(len(self.texts) - 1)
        if tag == "table":
            self.table = a.get("id")
            if self.table:
                self.tables[self.table] = []
        elif tag == "tr" and self.table:
            self.tables[self.table].append([])
        elif tag == "td" and self.table and self.tables[self.table]:
            self.cell = ""

    def handle_endtag(self, tag):
        if tag == "td" and self.cell is not None:
            self.tables[self.table][-1].append(self.cell.strip())
            self.cell = None
        if tag == "table":
            self.table = None
        if self.stack and tag not in ("meta", "br", "img", "input", "link", "hr"):
            self.stack.pop()

    def handle_data(self, data):
        for i in self.stack:
            self.texts[i] += data
        if self.cell is not None:
            self.cell += data

    def find(self, tag=None, **want):
        out = []
        for t, a, ti in self.elements:
            if tag and t != tag:
                continue
            if all(a.get(k.replace("_", "-")) == v for k, v in want.items()):
                out.append((a, self.texts[ti]))
        return out


def render_ok(dom):
    """Returns the list of problems with a dumped DOM's charts."""
    problems = []
    p = Dom()
    p.feed(dom)
    charts = [(a, ti) for t, a, ti in p.elements if "chart" in a.get("class", "").split()]
    if not charts:
        problems.append("no chart containers")
    for a, _ in charts:
        m = re.fullmatch(r"(\d+) series, (\d+) points", a.get("data-rendered", ""))
        if not m or int(m.group(1)) < 1 or int(m.group(2)) < 1:
            problems.append("chart %s not rendered (%r)" % (a.get("id"), a.get("data-rendered")))
    done = p.find("div", id="tx-done")
    if len(done) != 1 or done[0][0].get("data-charts") != str(len(charts)):
        problems.append("no #tx-done marker counting %d charts" % len(charts))
    # Each container holds one canvas of non-zero size (ECharts' canvas renderer).
    canvases = [a for t, a, _ in p.elements if t == "canvas"]
    sizes = [(int(a.get("width", "0")), int(a.get("height", "0"))) for a in canvases]
    if len(canvases) < len(charts) or any(w <= 0 or h <= 0 for w, h in sizes):
        problems.append("canvases %s for %d charts" % (sizes, len(charts)))
    return problems


def offline_problems(page_text, echarts_text):
    """References to the network outside the inlined ECharts script (whose http strings are
    XML namespaces and licence URLs, and whose <img src= builds tooltips from data): any
    http(s)://, element with src/href, CSS url() or @import; and the CSP must be there."""
    problems = []
    own = page_text.replace(echarts_text, "")
    if own == page_text:
        problems.append("the ECharts script is not inlined verbatim")
    for m in re.finditer(r"https?://[^\s\"'<>]*", own):
        problems.append("network reference %s" % m.group(0))
    for m in re.finditer(r"<(?:script|link|img|iframe|embed|object|source)\b[^>]*\b(?:src|href)\s*=",
                         own, re.I):
        problems.append("external resource element %s" % m.group(0)[:80])
    if re.search(r"@import|url\(", own, re.I):
        problems.append("CSS import or url() of a network resource")
    if "Content-Security-Policy" not in page_text:
        problems.append("no Content-Security-Policy")
    return problems


# ---- 1. a small city, run --------------------------------------------------------------------
shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK)
city = os.path.join(WORK, "city")
store = os.path.join(WORK, "store.h5")
results = os.path.join(WORK, "results.h5")
sh(TANXIAO, "generate", city, "--enterprises", "150", "--seed", "3", "--store", store)
sh(TANXIAO, "run", "--store", store, "--financials", city, "--period", "2025", "--baseline",
   "2020", "--output", results)

with open(ECHARTS, encoding="utf-8") as f:
    echarts_text = f.read()

# ---- 2. the page ------------------------------------------------------------------------------
page = os.path.join(WORK, "report.html")
out = sh(TANXIAO, "report", results, "-o", page)
print(out.strip())
check(os.path.exists(page), "the page was written")
leftovers = [n for n in os.listdir(WORK) if ".tmp-" in n]
check(not leftovers, "no temporary files left (%s)" % leftovers)
with open(page, encoding="utf-8") as f:
    text = f.read()
size = os.path.getsize(page)
own = size - len(echarts_text.encode("utf-8"))
print("page: %d bytes, %d apart from the inlined ECharts" % (size, own))
check(0 < own < 200_000, "the page is small apart from ECharts (%d bytes)" % own)
for p in offline_problems(text, echarts_text):
    check(False, "offline: " + p)

dom, console = browse(page)
for l in console:
    print("console:", l)
check(not console, "no console messages (%d)" % len(console))
for p in render_ok(dom):
    check(False, "render: " + p)
d = Dom()
d.feed(dom)
chart_ids = [a.get("id") for t, a, _ in d.elements if "chart" in a.get("class", "").split()]
print("charts:", ", ".join("%s [%s]" % (a.get("id"), a.get("data-rendered"))
                           for t, a, _ in d.elements if "chart" in a.get("class", "").split()))
for want in ("chart-industry", "chart-district-energy", "chart-district-co2",
             "chart-district-water", "chart-top-co2", "chart-grade5", "chart-coverage",
             "chart-status"):
    check(want in chart_ids, "chart %s present" % want)

# ---- 3. the numbers against the results file -----------------------------------------------
h5 = h5py.File(results, "r")
cards = d.find("div", **{"class": "v"})
check(len(cards) >= 15, "city summary cards (%d)" % len(cards))
seen = set()
for a, txt in cards:
    key = a.get("data-key")
    seen.add(key)
    want = float(h5["city"][key][0])
    got = float(a["data-value"])
    check(got == want or (math.isnan(got) and math.isnan(want)),
          "city %s: page %r vs results %r" % (key, got, want))
    dec = 4 if key.endswith("_intensity") and "change" not in key else \
        2 if key.endswith("change_pct") else 0
    check(txt.strip() == format(want, ",.%df" % dec),
          "city %s shown as %r, expected %r" % (key, txt.strip(), format(want, ",.%df" % dec)))
for key in ("n_enterprises", "energy_tce", "co2_t", "water_m3", "value_added",
            "carbon_intensity", "energy_intensity_change_pct", "co2_intensity_change_pct",
            "water_intensity_change_pct", "n_grade_1", "n_grade_5"):
    check(key in seen, "city summary shows %s" % key)

prov = {a["data-attr"]: txt for a, txt in d.find("tr") if "data-attr" in a}
for key in ("period", "baseline", "engine_version", "creation_time", "configuration",
            "command_line"):
    want = h5.attrs[key]
    want = want.decode() if isinstance(want, bytes) else str(want)
    check(prov.get(key, "").strip() == (key + want),
          "provenance %s: %r vs %r" % (key, prov.get(key), want))

e = h5["enterprise"]
ids = [x.decode() for x in e["enterprise_id"][:]]
co2 = e["co2_t"][:]
order = sorted(range(len(ids)), key=lambda i: (math.isnan(co2[i]), -np.nan_to_num(co2[i]), i))
top = [row for row in d.tables.get("top-co2", []) if row]
check(len(top) == min(20, len(ids)), "20 rows in the largest-emitter table (%d)" % len(top))
check([row[2] for row in top] == [ids[i] for i in order[:len(top)]],
      "largest emitters are the top of co2_t, in order")
for row, i in zip(top, order):
    check(row[5] == format(co2[i], ",.0f"), "emitter %s CO2 %s vs %s" % (ids[i], row[5], co2[i]))
grade, K = e["carbon_grade"][:], e["carbon_efficiency_value"][:]
g5 = [i for i in range(len(ids)) if grade[i] == 5]
g5.sort(key=lambda i: (math.isnan(K[i]), -np.nan_to_num(K[i]), i))
rows5 = [row for row in d.tables.get("grade5", []) if row]
check(len(g5) > 0, "the city has grade-5 enterprises")
check([row[2] for row in rows5] == [ids[i] for i in g5[:20]], "grade-5 table ordered by K")

tg = h5["targets"]
n_district_targets = int(sum(1 for s in tg["scope"][:] if s == b"district"))
rows_t = [row for row in d.tables.get("district-targets", []) if row]
check(len(rows_t) == n_district_targets,
      "district target table has every district target row (%d vs %d)"
      % (len(rows_t), n_district_targets))
status_names = ["not evaluable", "met", "on track", "off track", "missed"]
want_status = [status_names[s] for s, sc in zip(tg["status"][:], tg["scope"][:]) if sc == b"district"]
check([row[-1] for row in rows_t] == want_status, "district target statuses as in /targets")
h5.close()

# ---- 4. hostile names are escaped ------------------------------------------------------------
evil_name = "<script>alert(1)</script> & \"q\" 'a' </SCRIPT><!-- 测试 \u2028 x"
evil_results = os.path.join(WORK, "evil.h5")
shutil.copy(results, evil_results)
with h5py.File(evil_results, "r+") as f:
    names = f["enterprise/name"]
    raw = evil_name.encode("utf-8")
    check(len(raw) <= names.dtype.itemsize, "hostile name fits the name column")
    names[order[0]] = raw  # the largest emitter: shown in a table, a chart and the JSON
tables = os.path.join(WORK, "tables")
os.makedirs(tables)
for name in ("districts.csv", "gbt4754_divisions.csv"):
    with open(os.path.join(TABLES, name), encoding="utf-8") as f:
        t = f.read()
    if name == "districts.csv":
        t = t.replace("海曙区", "\"海曙<b>区</b> & \"\"x\"\" </script>\"", 1)
    with open(os.path.join(tables, name), "w", encoding="utf-8") as f:
        f.write(t)
evil_page = os.path.join(WORK, "evil.html")
sh(TANXIAO, "report", evil_results, "-o", evil_page, "--tables", tables,
   "--title", "T <i>&</i> \"</title><script>alert(2)</script>")
with open(evil_page, encoding="utf-8") as f:
    evil_text = f.read()
check(evil_text.count("<script") == 3, "the page has exactly its three script elements")
check("\\u003cscript\\u003ealert(1)" in evil_text, "the name is JSON-escaped in the data")
check("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;q&quot; &#39;a&#39;" in evil_text,
      "the name is HTML-escaped in the tables")
dom_e, console_e = browse(evil_page)
check(not console_e, "hostile names: no console messages (%s)" % console_e[:2])
for p in render_ok(dom_e):
    check(False, "hostile names render: " + p)
de = Dom()
de.feed(dom_e)
check(len([1 for t, a, _ in de.elements if t == "script"]) == 3, "no script element injected")
rows = [row for row in de.tables.get("top-co2", []) if row]
check(rows and rows[0][1] == evil_name,
      "the hostile name reads back as text: %r" % (rows[0][1] if rows else None))
check(any("海曙<b>区</b> & \"x\" </script>" in row[0]
          for row in de.tables.get("district-targets", []) if row),
      "a hostile district name reads back as text")
check(de.find("title") and de.find("title")[0][1] == "T <i>&</i> \"</title><script>alert(2)</script>",
      "the title reads back as text")

# ---- 5. the checks catch a broken page -------------------------------------------------------
broken = os.path.join(WORK, "broken.html")
with open(broken, "w", encoding="utf-8") as f:
    f.write(text.replace("D.coverage.labels", "D.coverage.nothing.labels", 1))
dom_b, console_b = browse(broken)
check(any("Uncaught" in l for l in console_b), "a JavaScript error is caught (%s)" % console_b)
check(render_ok(dom_b), "a page whose script failed is not reported as rendered")
external = os.path.join(WORK, "external.html")
with open(external, "w", encoding="utf-8") as f:
    f.write(text.replace("</main>", "<img src=\"https://example.invalid/x.png\"></main>", 1))
dom_x, console_x = browse(external)
check(console_x, "a fetch of an external resource is caught in the console")
check(offline_problems(open(external, encoding="utf-8").read(), echarts_text),
      "the static offline check catches an external resource")

# ---- 6. errors: one line, non-zero, nothing written ------------------------------------------
def fails(args, code, what, env=None, out=None):
    r = run(TANXIAO, "report", *args, env=env)
    lines = r.stderr.strip().splitlines()
    check(r.returncode == code, "%s: exit %d (got %d: %s)" % (what, code, r.returncode, r.stderr))
    # stderr carries log lines: ISO 8601 time with offset, level, then the message.
    msg = re.sub(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d ERROR ", "",
                 lines[0]) if lines else ""
    check(len(lines) == 1 and msg != lines[0] and msg.startswith("tanxiao report"),
          "%s: one error log line on stderr (%r)" % (what, r.stderr))
    if out:
        check(not os.path.exists(out), "%s: no page written" % what)
        check(not [n for n in os.listdir(os.path.dirname(out)) if ".tmp-" in n],
              "%s: no temporary file left" % what)


bad = os.path.join(WORK, "bad.html")
fails([results], 2, "missing -o")
fails([results, "-o", bad, "--top", "0"], 2, "bad --top")
fails([results, "-o", bad, "--bogus"], 2, "unknown option")
fails([results, "-o"], 2, "missing option argument")
fails([os.path.join(WORK, "missing.h5"), "-o", bad], 1, "missing results", out=bad)
fails([os.path.join(city, "enterprises.csv"), "-o", bad], 1, "not an HDF5 file", out=bad)
fails([store, "-o", bad], 1, "a store is not a results file", out=bad)
fails([results, "-o", bad, "--echarts", os.path.join(WORK, "none.js")], 1,
      "missing ECharts", out=bad)
fails([results, "-o", bad], 1, "TANXIAO_ECHARTS is read",
      env=dict(os.environ, TANXIAO_ECHARTS=os.path.join(WORK, "none.js")), out=bad)
closing = os.path.join(WORK, "closing.js")
with open(closing, "w") as f:
    f.write("var echarts = {}; // </script><script>alert(1)\n")
fails([results, "-o", bad, "--echarts", closing], 1, "a script that closes its element",
      out=bad)
fails([results, "-o", bad, "--tables", os.path.join(WORK, "no-tables")], 1,
      "explicit --tables missing", out=bad)
fails([results, "-o", os.path.join(WORK, "no-dir", "r.html")], 1, "unwritable output")
check(run(TANXIAO, "report", results, "-o", bad, "--echarts", ECHARTS,
          env=dict(os.environ, TANXIAO_ECHARTS="/nonexistent")).returncode == 0,
      "--echarts overrides TANXIAO_ECHARTS")

# ---- 7. a screenshot (kept in the work directory) --------------------------------------------
shot = os.path.join(WORK, "report.png")
browse(page, shot=shot)
check(os.path.exists(shot) and os.path.getsize(shot) > 20_000,
      "screenshot written (%d bytes)" % (os.path.getsize(shot) if os.path.exists(shot) else 0))

print("%d checks, %d failures" % (checks, len(failures)))
sys.exit(1 if failures else 0)
