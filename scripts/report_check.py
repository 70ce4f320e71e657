#!/usr/bin/env python3
"""Check a nightly report (`reports/<date>/index.html`) in a real headless browser: Chromium
driven over WebDriver (selenium + Debian's chromium-driver), in a 1280x800 window. The first
screen must be the KB x build grid — the first table of the page, 6 rows x 8 builds, entirely
visible without scrolling, with no other table above it; every cell links to an existing row of
the detailed matrix (following one scrolls that row into view); a chart link loads an SVG and a
viewer link loads a viewer page with records; the findings and their lifecycle follow the grid,
before the plots; the page loads no script and the console shows no errors.

Usage: scripts/report_check.py REPORT.html      (exit 0: OK; 1: a check failed; 2: no browser)
"""
import os
import shutil
import sys

try:
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
except ImportError:
    print("no selenium (python3 -m pip install selenium)", file=sys.stderr)
    sys.exit(2)


def in_view(d, el):
    return d.execute_script(
        "const r = arguments[0].getBoundingClientRect();"
        "return r.top >= 0 && r.bottom <= window.innerHeight && r.height > 0;",
        el,
    )


def main(page):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    if not chromium or not driver_path:
        print("no chromium/chromedriver (apt-get install chromium chromium-driver)", file=sys.stderr)
        return 2
    opts = Options()
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--window-size=1280,800"):
        opts.add_argument(a)
    opts.binary_location = chromium
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    d = webdriver.Chrome(options=opts, service=Service(driver_path))
    try:
        url = "file://" + os.path.abspath(page)
        d.get(url)
        assert not d.find_elements(By.TAG_NAME, "script"), "the report carries a script"
        tables = d.find_elements(By.TAG_NAME, "table")
        assert tables and tables[0].get_attribute("id") == "grid", "the first table is not the grid"
        grid = tables[0]
        assert in_view(d, grid), "the grid is not entirely on the first screen"
        headings = [h.get_attribute("id") for h in d.find_elements(By.TAG_NAME, "h2")]
        assert headings[0] == "kb-grid", f"first section: {headings[:3]}"
        order = [headings.index(i) for i in ("kb-grid", "findings", "lifecycle")]
        assert order == sorted(order), f"sections out of order: {headings}"
        first_plot = d.find_elements(By.CSS_SELECTOR, "svg")
        life = d.find_element(By.ID, "lifecycle")
        if first_plot:
            assert d.execute_script(
                "return arguments[0].compareDocumentPosition(arguments[1]) & 4;", life, first_plot[0]
            ), "a plot comes before the findings"
        rows = grid.find_elements(By.CSS_SELECTOR, "tr")
        assert len(rows) == 7, f"{len(rows)} grid rows (header + 6)"
        cells = grid.find_elements(By.CSS_SELECTOR, "td")
        assert len(cells) == 48, f"{len(cells)} grid cells"
        classes = {c.get_attribute("class") for c in cells}
        colours = {c.value_of_css_property("background-color") for c in cells}
        assert len(colours) >= 4, f"cells not coloured by class: {classes} {colours}"
        details = grid.find_elements(By.CSS_SELECTOR, "a.detail")
        assert details, "no detail links"
        for a in details:
            target = a.get_attribute("href").split("#", 1)[1]
            assert d.find_elements(By.ID, target), f"detail link to a missing row: {target}"
        # Following a detail link brings its row of the matrix into view.
        last = details[-1]
        target = last.get_attribute("href").split("#", 1)[1]
        last.click()
        assert in_view(d, d.find_element(By.ID, target)), f"row {target} not shown"
        # A chart and a viewer of a cell.
        d.get(url)
        charts = [a.get_attribute("href") for a in d.find_elements(By.CSS_SELECTOR, "#grid .links a")]
        assert len(charts) >= 2, "no chart/viewer links in the grid"
        svg, viewer = charts[0], charts[1]
        d.get(svg)
        assert d.find_elements(By.TAG_NAME, "svg") or "<svg" in d.page_source, f"chart {svg} not an SVG"
        d.get(viewer)
        records = d.find_elements(By.CSS_SELECTOR, "#rows tr")
        assert records, f"viewer {viewer} shows no records"
        errors = [l for l in d.get_log("browser") if l.get("level") == "SEVERE"]
        assert not errors, f"console errors: {errors}"
        print(f"report OK: grid first and whole on a 1280x800 screen ({len(cells)} cells, "
              f"{len(classes)} classes), {len(details)} detail links resolve, chart and viewer load, "
              f"findings and lifecycle before the plots, 0 console errors")
        return 0
    except AssertionError as e:
        print(f"report check failed: {e}", file=sys.stderr)
        return 1
    finally:
        d.quit()


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1]))
