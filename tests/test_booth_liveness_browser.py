"""The liveness check on the booth screen, in a real headless Chromium against the real kiosk and simulators.

The screen shows the voter each instruction while the check runs, in the language the official chose,
and after a failed check asks for the supervisor. The page records every text its feedback line shows
(a MutationObserver), because an instruction stays up only as long as the voter takes to follow it.
"""
from __future__ import annotations

import json
import shutil

import pytest

from kiosk import create_app
from simulators.suite import SimulatorSuite
from test_booth_screen import Kiosk, Screen, _Server, browser, expect, page  # noqa: F401  (fixtures)
from liveness_fixtures import liveness_kiosk_settings

pytestmark = pytest.mark.browser

RECORD_FEEDBACK = """() => {
  window.feedbackSeen = [];
  const box = document.querySelector("#face-feedback .text");
  new MutationObserver(() => window.feedbackSeen.push(box.textContent))
    .observe(box, {childList: true, characterData: true, subtree: true});
}"""


@pytest.fixture
def kiosk(liveness_demo_dir, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(liveness_demo_dir, data)
    voters = {v["voter_id"]: v for v in json.loads((data / "demo" / "voters.json").read_text())["voters"]}
    suite = SimulatorSuite(demo_voters=data / "demo" / "voters.json", control_port=None).start()
    try:
        app = create_app(liveness_kiosk_settings(data, suite.describe()["devices"]),
                         show_instruction=lambda _session, instruction: suite.cue_face(instruction))
        server = _Server(app)
        try:
            yield Kiosk(server.url, app, suite, voters)
        finally:
            server.stop()
            app.extensions["kiosk"].close()
    finally:
        suite.stop()


@pytest.fixture
def screen(page, kiosk) -> Screen:  # noqa: F811
    return Screen(page, kiosk).open()


def up_to_liveness(screen: Screen, person: str, performance: str) -> None:
    screen.kiosk.suite.present_voter_card(person)
    screen.kiosk.suite.place_voter_finger(person)
    screen.kiosk.suite.show_voter_face(person, performance=performance)
    screen.sign_in()
    screen.expect_panel("voter")
    screen.click("#voter-continue")
    screen.expect_panel("face")
    screen.page.evaluate(RECORD_FEEDBACK)


def test_the_instructions_show_in_english_and_a_live_voter_goes_on_to_the_result(screen):
    up_to_liveness(screen, "DEMO01", "live")
    expect(screen.page.locator("#face-capture")).to_have_text("Start the liveness check")
    screen.click("#face-capture")
    screen.expect_panel("result")
    expect(screen.result()).to_have_attribute("data-kind", "confirmed")
    seen = screen.page.evaluate("window.feedbackSeen")
    assert "Blink your eyes" in seen
    assert {"Turn your head to your left", "Turn your head to your right"} & set(seen)


def test_in_khmer_a_printed_photo_gets_the_instruction_then_the_supervisor_panel(screen):
    screen.page.click('#languages .lang[data-lang="km"]')
    up_to_liveness(screen, "DEMO02", "printed_photo")
    screen.click("#face-capture")
    screen.expect_panel("supervisor")
    assert "សូមព្រិចភ្នែក" in screen.page.evaluate("window.feedbackSeen")     # "blink your eyes"
    expect(screen.page.locator("#supervisor-title")).to_have_text("ការពិនិត្យមនុស្សពិតមិនបានជោគជ័យ")
    expect(screen.page.locator('#supervisor-reason option[value="checked_in_person"]')).to_have_count(1)
