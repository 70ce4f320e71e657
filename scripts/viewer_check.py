#!/usr/bin/env python3
"""Check a trace-viewer page (`mta-lab view`) in a real headless browser: Chromium driven over
WebDriver (selenium + Debian's chromium-driver). The page must load its trace, filtering by layer
and by event id must work, selecting a record must show its decoded PDU and raw bytes, the fault
jump must land on a fault or finding, and the browser console must show no errors.

Usage: scripts/viewer_check.py PAGE.html      (exit 0: OK; 1: a check failed; 2: no browser)
"""
import os
import shutil
import sys

try:
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select
except ImportError:
    print("no selenium (python3 -m pip install selenium)", file=sys.stderr)
    sys.exit(2)


def main(page):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    if not chromium or not driver_path:
        print("no chromium/chromedriver (apt-get install chromium chromium-driver)", file=sys.stderr)
        return 2
    opts = Options()
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        opts.add_argument(a)
    opts.binary_location = chromium
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    d = webdriver.Chrome(options=opts, service=Service(driver_path))
    try:
        d.get("file://" + os.path.abspath(page))
        rows = lambda: d.find_elements(By.CSS_SELECTOR, "#rows tr")
        total = len(rows())
        assert total > 10, f"only {total} rows loaded"
        # Filter by layer.
        Select(d.find_element(By.ID, "f-layer")).select_by_value("eventlog")
        ev = rows()
        assert 0 < len(ev) < total, f"layer filter: {len(ev)} of {total}"
        assert all("eventlog" in r.get_attribute("class") for r in ev)
        # Filter by event id on top.
        first_id = ev[0].find_elements(By.TAG_NAME, "td")[5].text.split()[0]
        d.find_element(By.ID, "f-id").send_keys(first_id)
        by_id = rows()
        assert 0 < len(by_id) <= len(ev), "event-id filter"
        assert all(r.find_elements(By.TAG_NAME, "td")[5].text.startswith(first_id) for r in by_id)
        # Back to everything; select a PDU and see its dissection and bytes.
        d.find_element(By.ID, "f-id").clear()
        d.execute_script("document.getElementById('f-id').dispatchEvent(new Event('input'))")
        Select(d.find_element(By.ID, "f-layer")).select_by_value("tpkt")
        pdus = rows()
        assert pdus, "no PDU records"
        pdus[0].click()
        detail = d.find_element(By.ID, "detail").text
        assert "decoded" in detail and "COTP" in detail, detail[:300]
        assert "raw bytes" in detail
        # Jump to the first fault or finding.
        Select(d.find_element(By.ID, "f-layer")).select_by_value("")
        d.find_element(By.ID, "next-fault").click()
        sel = d.find_elements(By.CSS_SELECTOR, "tr.sel")
        assert sel and ("fault" in sel[0].get_attribute("class") or "oracle" in sel[0].get_attribute("class")), "fault jump"
        errors = [l for l in d.get_log("browser") if l.get("level") == "SEVERE"]
        assert not errors, f"console errors: {errors}"
        print(f"viewer OK: {total} records, {len(ev)} event-log entries, filters, selection, fault jump, 0 console errors")
        return 0
    except AssertionError as e:
        print(f"viewer check failed: {e}", file=sys.stderr)
        return 1
    finally:
        d.quit()


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1]))
