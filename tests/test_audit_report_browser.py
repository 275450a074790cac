"""The audit report as a person sees it: opened from disk in headless Chromium, and printed on A4."""
from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from bench._polling_day import write_day
from kiosk.audit.report import build_report, read_scores, render_html

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
DOC_SHOTS = os.environ.get("KIOSK_BOOTH_SCREENSHOTS")

playwright_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install -e '.[test]')")
if not CHROMIUM.exists():
    pytest.skip("Debian's chromium is not installed at /usr/bin/chromium (run tools/install-browser)",
                allow_module_level=True)

pytestmark = pytest.mark.browser

SCORES = "modality,set,group,genuine,score\n" + "".join(
    f"{modality},{name},{group},{genuine},{score}\n"
    for modality, name in (("fingerprint", "FVC2002 DB1"), ("face", "deployment photos"))
    for group in ("group A", "group B")
    for genuine, scores in ((1, range(25, 125, 5)), (0, range(0, 40, 2)))
    for score in scores)


@pytest.fixture(scope="module")
def report_file(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    day = write_day(folder / "day", stations=4, kiosks_per_station=2, voters_per_station=120, seed=11)
    report = build_report(day.bundles, trusted_keys=day.trusted_keys[1:], evidence=read_scores(SCORES),
                          generated_at="2026-07-26 09:00 UTC", utc_offset_hours=7)
    path = folder / "report.html"
    path.write_text(render_html(report), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def page(report_file):
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1000, "height": 1400})
        page = context.new_page()
        errors, requests = [], []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("request", lambda request: requests.append(request.url))
        page.goto(report_file.as_uri())
        page.wait_for_load_state("load")
        page.errors, page.requests = errors, requests
        yield page
        browser.close()


def test_the_report_opens_without_errors_and_asks_for_nothing_outside_the_file(page, report_file):
    assert page.errors == []
    assert all(url == report_file.as_uri() or url.startswith("data:") for url in page.requests)


def test_every_plot_is_drawn_and_has_a_text_alternative(page):
    images = page.locator("img")
    assert images.count() >= 4 * 2 + 3
    for n in range(images.count()):
        image = images.nth(n)
        assert image.evaluate("img => img.complete && img.naturalWidth > 0"), f"plot {n} did not render"
        assert len(image.get_attribute("alt")) > 20


def test_the_untrusted_bundle_is_shown_as_such(page):
    table = page.locator("#bundle-table")
    assert "UNTRUSTED KEY" in table.inner_text()
    assert "7 of 8 bundle(s) are counted" in page.locator("#bundles").inner_text()


def test_flags_and_per_group_rates_are_on_the_page(page):
    assert "For review" in page.locator("#flags").inner_text()
    assert page.get_by_text("error rates per group at score 40").count() == 2


def test_the_report_prints_on_a4(page, tmp_path):
    pdf = page.pdf(format="A4", print_background=True)
    assert pdf.startswith(b"%PDF")
    pages = pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages")
    assert 4 <= pages <= 40


def test_documentation_screenshots(page):
    if not DOC_SHOTS:
        pytest.skip("KIOSK_BOOTH_SCREENSHOTS names no folder: documentation screenshots not wanted")
    from PIL import Image

    Path(DOC_SHOTS).mkdir(parents=True, exist_ok=True)
    for name, selector in (("report-1-bundles", "header"), ("report-2-station", ".station"),
                           ("report-3-evidence", "#evidence")):
        page.locator(selector).first.scroll_into_view_if_needed()
        shot = Image.open(io.BytesIO(page.screenshot(full_page=False))).convert("RGB")
        shot.quantize(colors=128).save(Path(DOC_SHOTS) / f"{name}.png", optimize=True)
