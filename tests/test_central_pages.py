"""The commission officials' pages in a real browser: sign in, turnout by station and hour, refusals and
fallbacks by reason, silent kiosks, forks and double votes (each also a JSON report, tested elsewhere).

With CENTRAL_SCREENSHOTS=docs/screenshots the test also writes the documentation screenshots.
"""
from __future__ import annotations

import io
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from central_kit import VOTER, Kiosk, LiveServer, enrol, send

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
DOC_SHOTS = os.environ.get("CENTRAL_SCREENSHOTS")

playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
if not CHROMIUM.exists():
    pytest.skip("Debian's chromium is not installed at /usr/bin/chromium (run tools/install-browser)",
                allow_module_level=True)
expect = playwright_api.expect
pytestmark = pytest.mark.browser


class Clock:
    """An election day in steps: every call moves the kiosk's clock on by ``step``."""

    def __init__(self, start: datetime, step: timedelta):
        self.now, self.step = start, step

    def __call__(self) -> datetime:
        self.now += self.step
        return self.now


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("central-pages")
    server = LiveServer(f"sqlite:///{root / 'central.sqlite3'}").start()
    client = server.app.test_client()
    morning = datetime(2026, 7, 26, 7, 0, tzinfo=timezone.utc)
    kiosks = [Kiosk(root / f"k{i}", station, f"kiosk-{i:02d}", clock=Clock(morning, timedelta(seconds=160 + 36 * i)))
              for i, station in enumerate(("PS-0001", "PS-0001", "PS-0002", "PS-0003"), start=1)]
    for n, kiosk in enumerate(kiosks):
        enrol(server.app, kiosk)
        votes = [{"event": "vote_marked", "official_id": "po-1", "voter": f"{n:02x}{v:062x}"}
                 for v in range(60 - 12 * n)]
        for start in range(0, len(votes), 4):      # a few votes per tick of the kiosk's clock
            kiosk.log.append_many(votes[start:start + 4])
        kiosk.record(3 + n, event="refusal", reason="wrong_station")
        kiosk.record(1 + n, event="fallback", reason="fingers_unusable")
    kiosks[0].vote(VOTER)
    kiosks[2].vote(VOTER)
    for kiosk in kiosks[:3]:
        assert send(client, kiosk.push(0)).status_code == 200
    forged = Kiosk(root / "forged", "PS-0001", "kiosk-02", key=kiosks[1].key)
    forged.record(5)
    assert send(client, forged.push(0)).get_json()["error"] == "fork"
    yield server                                   # kiosk-04 never pushed: it is silent
    server.stop()
    for kiosk in (*kiosks, forged):
        kiosk.close()


@pytest.fixture(scope="module")
def page(server):
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1100, "height": 720})
        page = context.new_page()
        page.set_default_timeout(20_000)
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(server.url + "/turnout")
        expect(page).to_have_url(server.url + "/login?next=/turnout")
        page.fill("input[name=username]", "monitor")
        page.fill("input[name=password]", "wrong")
        page.click("button[type=submit]")
        expect(page.locator("#error")).to_contain_text("wrong password")
        _snapshot(page, "central-01-sign-in")
        page.fill("input[name=username]", "monitor")
        page.fill("input[name=password]", "monitor-pass")
        page.click("button[type=submit]")
        expect(page).to_have_url(server.url + "/turnout")
        yield page
        assert errors == []
        browser.close()


def _snapshot(page, name: str) -> None:
    if DOC_SHOTS:
        from PIL import Image

        Path(DOC_SHOTS).mkdir(parents=True, exist_ok=True)
        shot = Image.open(io.BytesIO(page.screenshot(full_page=True))).convert("RGB")
        shot.quantize(colors=128).save(Path(DOC_SHOTS) / f"{name}.png", optimize=True)


def _rows(page, table: str) -> list[str]:
    return [r.strip() for r in page.locator(f"#{table} tr").all_inner_texts()[1:]]


def test_turnout_is_shown_by_station_and_hour(page, server):
    page.goto(server.url + "/turnout")
    rows = _rows(page, "turnout")
    assert any(r.startswith("PS-0001\t2026-07-26T07:00Z") for r in rows)
    assert {r.split("\t")[0] for r in rows} == {"PS-0001", "PS-0002"}   # PS-0003's kiosk never pushed
    total = sum(int(r.split("\t")[2]) for r in rows)
    assert total == 61 + 48 + 37        # every vote_marked pushed, the double voter's two included
    _snapshot(page, "central-02-turnout")


def test_refusals_and_fallbacks_are_counted_by_reason(page, server):
    page.goto(server.url + "/refusals")
    assert _rows(page, "refusals") == ["fallback\tfingers_unusable\t6", "refusal\twrong_station\t12"]
    _snapshot(page, "central-03-refusals")


def test_a_kiosk_that_never_pushed_is_listed_as_silent(page, server):
    page.goto(server.url + "/silent?minutes=5")
    rows = _rows(page, "silent")
    assert len(rows) == 1 and rows[0].startswith("PS-0003\tkiosk-04\tnever")
    _snapshot(page, "central-04-silent")


def test_the_fork_and_the_double_vote_are_shown_with_each_vote(page, server):
    page.goto(server.url + "/alerts")
    forks = _rows(page, "forks")
    assert len(forks) == 1 and "PS-0001\tkiosk-02" in forks[0] and "rewound" in forks[0]
    [double] = _rows(page, "double-votes")
    assert double.startswith(VOTER[:16]) and "PS-0001 / kiosk-01" in double and "PS-0002 / kiosk-03" in double
    _snapshot(page, "central-05-alerts")
    page.goto(server.url + "/")
    expect(page.locator("#alert-summary")).to_contain_text("1 fork(s) and 1 double vote(s)")
    _snapshot(page, "central-06-overview")
