"""Newcomer findings on the booth screen, in a real headless Chromium against the real kiosk and the
simulators (the harness of tests/test_booth_screen.py): a pending card wait does not delay Sign out,
an error banner follows a switch to Khmer, a card reader fault is said in the panel, the supervisor's
Approve button fits a 1024x600 screen, a failed self-test is shown."""
from __future__ import annotations

import contextlib
import json
import shutil
import time

import pytest

from kiosk import create_app
from kiosk.booth import catalogue
from simulators.suite import SimulatorSuite
from test_booth_screen import Kiosk, Screen, _Server, browser, expect, page  # noqa: F401  (fixtures)


@pytest.fixture
def start_kiosk(hardening_demo, tmp_path):
    """Start the kiosk (default card timeout, as under ./dev run) with the simulators; extra
    ``create_app`` keywords (e.g. ``self_test``) pass through."""
    stack = contextlib.ExitStack()

    def start(**options) -> Kiosk:
        data = tmp_path / "data"
        shutil.copytree(hardening_demo, data)
        voters = {v["voter_id"]: v for v in json.loads((data / "demo" / "voters.json").read_text())["voters"]}
        suite = SimulatorSuite(demo_voters=data / "demo" / "voters.json").start()
        stack.callback(suite.stop)
        devices = suite.describe()["devices"]
        app = create_app({"data_dir": data, "key_dir": data / "keys",
                          "card_reader_url": devices["card_reader"]["path"],
                          "card_reader_framing": devices["card_reader"]["framing"],
                          "fingerprint_url": devices["fingerprint"]["path"],
                          "lamp_url": devices["lamp"]["path"], "lamp_kind": devices["lamp"]["kind"],
                          "camera_source": devices["camera"]["url"]}, **options)
        stack.callback(app.extensions["kiosk"].close)
        server = _Server(app)
        stack.callback(server.stop)
        return Kiosk(server.url, app, suite, voters)

    with stack:
        yield start


def test_sign_out_answers_at_once_while_the_screen_waits_for_a_card(page, start_kiosk):  # noqa: F811
    screen = Screen(page, start_kiosk()).open()
    screen.sign_in()
    screen.expect_panel("card")
    expect(page.locator("#card-feedback")).to_contain_text("Still waiting")
    started = time.perf_counter()
    screen.click("#nav-sign-out")
    screen.expect_panel("signin")
    assert time.perf_counter() - started < 2.5


def test_an_error_banner_is_rewritten_when_the_official_switches_to_khmer(page, start_kiosk):  # noqa: F811
    screen = Screen(page, start_kiosk()).open()
    screen.sign_in(password="not-the-password")
    expect(page.locator("#error-text")).to_have_text("Wrong user name or password.")
    page.click('#languages .lang[data-lang="km"]')
    expect(page.locator("#error-text")).to_have_text(catalogue.load("km")["error.invalid_credentials"])


def test_a_card_reader_fault_is_said_in_the_panel_which_stops_asking_for_the_card(page, start_kiosk):  # noqa: F811
    kiosk = start_kiosk()
    kiosk.suite.inject("card_reader", "unplugged")
    screen = Screen(page, kiosk).open()
    screen.sign_in()
    screen.expect_panel("card")
    expect(page.locator("#card-feedback")).to_have_attribute("data-key", "card.reader_fault")
    expect(page.locator("#card-wait")).to_be_visible()


def test_the_supervisors_approve_button_fits_a_1024x600_screen(page, start_kiosk):  # noqa: F811
    page.set_viewport_size({"width": 1024, "height": 600})
    screen = Screen(page, start_kiosk()).open()
    screen.sign_in()
    screen.expect_panel("card")
    screen.click("#card-no-card")
    screen.expect_panel("supervisor")
    box = page.locator("#supervisor-form button[type=submit]").bounding_box()
    assert page.evaluate("window.scrollY") == 0 and box["y"] + box["height"] <= 600, box


def test_a_failed_engine_self_test_is_shown_on_the_booth_screen(page, start_kiosk):  # noqa: F811
    failed = {"fingerprint": "wrong_scores", "face": "ok", "milliseconds": 1}
    screen = Screen(page, start_kiosk(self_test=lambda: failed)).open()
    screen.sign_in()
    expect(page.locator("#degraded")).to_be_visible()
    expect(page.locator("#degraded")).to_have_text(catalogue.load("en")["health.degraded"])
