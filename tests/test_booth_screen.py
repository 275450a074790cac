"""The booth screen in a real headless Chromium, against the real kiosk.

Each test runs the real app (kiosk.create_app) under waitress on 127.0.0.1 (random port), with a real
registry built by build_demo_registry(source="packaged") and the real simulators (SimulatorSuite)
wired to the app's devices as ``kiosk demo`` does. The browser only clicks and reads the page.

Demo people (kiosk/registry/demo.py): DEMO01-DEMO03 registered at PS-0001, DEMO04 registered at
PS-0002, DEMO05 an unregistered impostor carrying DEMO02's card.

On failure a screenshot goes to tests/screenshots/ (git-ignored). With
KIOSK_BOOTH_SCREENSHOTS=docs/screenshots the tests also write the documentation screenshots.
"""
from __future__ import annotations

import io
import json
import os
import re
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

from kiosk import create_app
from kiosk.audit import verify_bundle
from simulators.suite import SimulatorSuite
from test_e2e import PASSWORDS, demo_dir  # noqa: F401  (module fixture: demo registry with officials)

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
FAILURE_SHOTS = Path(__file__).parent / "screenshots"
DOC_SHOTS = os.environ.get("KIOSK_BOOTH_SCREENSHOTS")
STEP_TIMEOUT_MS = 30_000   # a face capture on a busy shared machine can take seconds

playwright_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install -e '.[test]')")
if not CHROMIUM.exists():
    pytest.skip("Debian's chromium is not installed at /usr/bin/chromium (run tools/install-browser)",
                allow_module_level=True)

expect = playwright_api.expect
pytestmark = pytest.mark.browser


# -- the kiosk under test ---------------------------------------------------------------------------

@dataclass
class Kiosk:
    url: str
    app: object
    suite: SimulatorSuite
    voters: dict

    @property
    def registry(self):
        return self.app.extensions["kiosk"].registry

    def person(self, demo_id: str) -> dict:
        return self.voters[demo_id]

    def steps_up(self, demo_id: str, *, card: bool = True) -> None:
        """The person steps up: card on the reader, finger on the sensor, face to the camera."""
        if card:
            self.suite.present_voter_card(demo_id)
        self.suite.place_voter_finger(demo_id)
        self.suite.show_voter_face(demo_id)

    def finger_into_ink_cradle(self, inked: bool = False) -> None:
        """The voter steps back from the camera; the finger goes into the UV cradle."""
        self.suite.show_face(None)
        self.suite.set_ink(inked)

    def summary(self) -> dict:
        return self.registry.summary(self.app.extensions["kiosk"].settings.station_id)


class _Server:
    """The app under waitress in a thread. The thread runs waitress's event loop in short slices
    and closes the sockets itself when asked to stop, so no socket is closed under a running select."""

    def __init__(self, app):
        from waitress.server import create_server

        self._server = create_server(app, host="127.0.0.1", port=0, threads=8, ident="kiosk-test")
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="booth-test-waitress", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.effective_port}"

    def _run(self) -> None:
        server = self._server
        while not self._stopping.is_set():
            server.asyncore.loop(timeout=0.1, map=server._map, count=1)
        for channel in list(server._map.values()):
            channel.close()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=10)
        self._server.task_dispatcher.shutdown()


@pytest.fixture
def kiosk(demo_dir, tmp_path):  # noqa: F811
    data = tmp_path / "data"
    shutil.copytree(demo_dir, data)
    voters = {v["voter_id"]: v for v in json.loads((data / "demo" / "voters.json").read_text())["voters"]}
    suite = SimulatorSuite(demo_voters=data / "demo" / "voters.json").start()
    try:
        devices = suite.describe()["devices"]
        app = create_app({"data_dir": data, "key_dir": data / "keys", "create_keys": True,
                          "card_reader_url": devices["card_reader"]["path"],
                          "card_reader_framing": devices["card_reader"]["framing"],
                          "fingerprint_url": devices["fingerprint"]["path"],
                          "lamp_url": devices["lamp"]["path"], "lamp_kind": devices["lamp"]["kind"],
                          "camera_source": devices["camera"]["url"],
                          "card_timeout_seconds": 1.0, "finger_timeout_seconds": 1.0})
        server = _Server(app)
        try:
            yield Kiosk(server.url, app, suite, voters)
        finally:
            server.stop()
            app.extensions["kiosk"].close()
    finally:
        suite.stop()


# -- the browser ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1100, "height": 760}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(STEP_TIMEOUT_MS)
    expect.set_options(timeout=STEP_TIMEOUT_MS)
    script_errors: list[str] = []
    page.on("pageerror", lambda error: script_errors.append(str(error)))
    failed_before = request.session.testsfailed
    try:
        yield page
    finally:
        if request.session.testsfailed > failed_before:
            FAILURE_SHOTS.mkdir(exist_ok=True)
            page.screenshot(path=str(FAILURE_SHOTS / f"{request.node.name}.png"), full_page=True)
        context.close()
    assert script_errors == [], "the screen's JavaScript threw uncaught errors"


class Screen:
    """What an official does and sees on the booth screen."""

    def __init__(self, page, kiosk: Kiosk):
        self.page = page
        self.kiosk = kiosk

    def open(self) -> "Screen":
        self.page.goto(self.kiosk.url + "/")
        expect(self.page.locator("body")).to_have_attribute("data-ready", "true")
        return self

    def sign_in(self, username: str = "official", password: str | None = None) -> "Screen":
        self.page.fill("#signin-username", username)
        self.page.fill("#signin-password", PASSWORDS[username] if password is None else password)
        self.page.click("#signin-form button[type=submit]")
        return self

    def panel(self, name: str):
        return self.page.locator(f'[data-panel="{name}"]')

    def expect_panel(self, name: str) -> None:
        expect(self.page.locator("body")).to_have_attribute("data-showing", name)
        expect(self.panel(name)).to_be_visible()

    def click(self, selector: str) -> None:
        self.page.click(selector)

    def supervisor_approves(self, username: str, password: str, reason: str) -> None:
        self.page.fill("#supervisor-username", username)
        self.page.fill("#supervisor-password", password)
        self.page.select_option("#supervisor-reason", reason)
        self.page.click("#supervisor-form button[type=submit]")

    def result(self):
        return self.page.locator("#result")

    def snapshot(self, name: str, *, full_page: bool = False) -> None:
        """A documentation screenshot (only when KIOSK_BOOTH_SCREENSHOTS names a folder)."""
        if DOC_SHOTS:
            from PIL import Image

            Path(DOC_SHOTS).mkdir(parents=True, exist_ok=True)
            shot = Image.open(io.BytesIO(self.page.screenshot(full_page=full_page))).convert("RGB")
            # a 128-colour palette keeps the committed PNGs small and the text sharp
            shot.quantize(colors=128).save(Path(DOC_SHOTS) / f"{name}.png", optimize=True)

    def text(self) -> str:
        return self.page.inner_text("body")


@pytest.fixture
def screen(page, kiosk) -> Screen:
    return Screen(page, kiosk).open()


def verify_up_to_ink(screen: Screen, demo_id: str) -> None:
    """A registered voter goes through card, finger and face to VERIFIED."""
    screen.kiosk.steps_up(demo_id)
    screen.sign_in()
    screen.expect_panel("voter")
    screen.click("#voter-continue")
    screen.expect_panel("face")
    screen.click("#face-capture")
    screen.expect_panel("result")
    expect(screen.result()).to_have_attribute("data-kind", "confirmed")


# -- the specifications -----------------------------------------------------------------------------

def test_wrong_password_is_refused_at_sign_in(screen):
    screen.sign_in(password="not-the-password")
    expect(screen.page.locator("#error-text")).to_have_text("Wrong user name or password.")
    screen.expect_panel("signin")


def test_signed_in_official_sees_station_devices_and_waits_for_a_card(screen):
    screen.snapshot("01-sign-in")
    screen.sign_in()
    screen.expect_panel("card")
    expect(screen.page.locator("#station-id")).to_have_text("PS-0001")
    expect(screen.page.locator("#official-name")).to_have_text("Demo polling official")
    for device in ("fingerprint", "lamp", "camera"):
        status = screen.page.locator(f'#devices [data-device="{device}"]')
        expect(status).to_have_attribute("data-status", "ready")
        expect(status.locator(".device-status")).to_have_text("Ready")
    # the card reader is busy while the screen waits on it, ready between two waits
    expect(screen.page.locator('#devices [data-device="card_reader"] .device-status')).to_have_text(
        re.compile("^(Ready|Busy)$"))
    expect(screen.page.locator("#card-feedback")).to_contain_text("Still waiting")
    screen.snapshot("02-waiting-for-card")


def test_registered_voter_is_verified_checked_for_ink_and_marked(screen, kiosk):
    person = kiosk.person("DEMO01")
    kiosk.steps_up("DEMO01")
    screen.sign_in()
    screen.expect_panel("voter")
    expect(screen.page.locator("#voter-name")).to_have_text(person["name"])
    expect(screen.page.locator("#voter-station")).to_have_text("PS-0001")
    expect(screen.page.locator("#voter-photo")).to_have_text("Photo not shown (policy)")
    assert person["id_number"] not in screen.page.content()   # only the masked number is shown
    screen.snapshot("03-voter-found")

    screen.click("#voter-continue")
    screen.expect_panel("face")
    screen.snapshot("05-look-at-camera")
    screen.click("#face-capture")
    screen.expect_panel("result")
    expect(screen.result()).to_have_attribute("data-kind", "confirmed")
    # not VERIFIED yet: the ink check and the vote are still to come
    expect(screen.page.locator("#result-title")).to_have_text("Identity confirmed - now check ink")
    expect(screen.page.locator("#result-method")).to_contain_text("fingerprint and face")
    expect(screen.page.locator('#steps li[data-step="ink"]')).to_have_attribute("data-done", "false")
    screen.snapshot("06-identity-confirmed")

    screen.click("#result-continue")
    screen.expect_panel("ink")
    screen.snapshot("07-ink-check")
    kiosk.finger_into_ink_cradle(inked=False)
    screen.click("#ink-check")
    screen.expect_panel("confirm")
    screen.snapshot("08-confirm")
    screen.click("#confirm-vote")
    screen.expect_panel("result")
    expect(screen.page.locator("#result-detail")).to_have_text("Vote recorded. Give the voter the ballot.")
    expect(screen.page.locator("#result-title")).to_have_text("VERIFIED")
    screen.snapshot("09-vote-recorded")
    assert kiosk.registry.get_voter(person["registry_voter_id"]).has_voted


def test_finger_feedback_tells_the_voter_what_to_do(screen, kiosk):
    kiosk.steps_up("DEMO02")
    kiosk.suite.inject("fingerprint", "sensor_error", code="too_wet", stage="genimg")
    screen.sign_in()
    screen.expect_panel("voter")
    screen.click("#voter-continue")
    screen.expect_panel("finger")
    feedback = screen.page.locator("#finger-feedback")
    expect(feedback).to_contain_text("Finger too wet: wipe it dry")
    expect(feedback).to_have_attribute("data-tone", "warn")          # the icon and words, not only colour
    expect(screen.page.locator("#finger-which")).to_contain_text("right index finger")
    screen.snapshot("04-place-finger-too-wet")
    kiosk.suite.clear_faults("fingerprint")
    screen.click("#finger-capture")
    screen.expect_panel("face")


def test_face_feedback_asks_the_voter_to_face_the_camera(screen, kiosk):
    kiosk.steps_up("DEMO01")
    kiosk.suite.show_face(None)                 # the voter has stepped away from the camera
    kiosk.suite.set_camera_scene("face")
    screen.sign_in()
    screen.expect_panel("voter")
    screen.click("#voter-continue")
    screen.expect_panel("face")
    screen.click("#face-capture")
    feedback = screen.page.locator("#face-feedback")
    expect(feedback).to_have_text("No face seen: the voter must stand in front of the camera.")
    expect(feedback).to_have_attribute("data-tone", "warn")
    kiosk.suite.show_voter_face("DEMO01")
    screen.click("#face-capture")
    screen.expect_panel("result")
    expect(screen.result()).to_have_attribute("data-kind", "confirmed")


def test_impostor_with_someone_elses_card_is_not_verified(screen, kiosk):
    kiosk.steps_up("DEMO05")                    # carries DEMO02's card
    screen.sign_in()
    screen.expect_panel("voter")
    expect(screen.page.locator("#voter-name")).to_have_text(kiosk.person("DEMO02")["name"])
    screen.click("#voter-continue")
    screen.expect_panel("face")
    screen.click("#face-capture")
    screen.expect_panel("finger")                 # not verified: a second round, finger first
    expect(screen.page.locator("#finger-feedback")).to_contain_text("Not verified yet: a second try")
    screen.snapshot("10a-second-round")
    screen.click("#finger-capture")
    screen.expect_panel("face")
    screen.click("#face-capture")
    screen.expect_panel("result")
    expect(screen.result()).to_have_attribute("data-kind", "refused")
    expect(screen.page.locator("#result-title")).to_have_text("NOT VERIFIED")
    expect(screen.page.locator("#result-detail")).to_contain_text("Do not give a ballot")
    expect(screen.page.locator("#result-next")).to_be_visible()
    screen.snapshot("10-not-verified")
    assert not kiosk.registry.get_voter(kiosk.person("DEMO02")["registry_voter_id"]).has_voted
    assert kiosk.summary()["refused"] == 1


def test_a_card_refused_as_not_verified_warns_the_official_when_presented_again(screen, kiosk):
    test_impostor_with_someone_elses_card_is_not_verified(screen, kiosk)
    expect(screen.page.locator("#voter-refused-before")).to_be_hidden()
    screen.click("#result-next")
    kiosk.steps_up("DEMO05")                          # the same card again
    screen.expect_panel("voter")
    warning = screen.page.locator("#voter-refused-before")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("Refused as not verified in 1 earlier session")
    expect(warning).to_have_attribute("data-tone", "warn")
    screen.snapshot("03a-voter-refused-before")


def test_second_vote_is_refused_as_already_voted(screen, kiosk):
    first = kiosk.person("DEMO01")
    kiosk.registry.mark_voted(first["registry_voter_id"], kiosk_id="kiosk-02", station_id="PS-0001",
                              official_id="official", method="biometric")
    kiosk.steps_up("DEMO01")
    screen.sign_in()
    screen.expect_panel("result")
    expect(screen.result()).to_have_attribute("data-kind", "already_voted")
    expect(screen.page.locator("#result-title")).to_have_text("ALREADY VOTED")
    expect(screen.page.locator("#result-detail")).to_contain_text("already voted")
    # the step bar marks only what happened: the card was read, no finger, face or ink step
    expect(screen.page.locator('#steps li[data-step="card"]')).to_have_attribute("data-done", "true")
    for step in ("finger", "face", "ink", "confirm"):
        expect(screen.page.locator(f'#steps li[data-step="{step}"]')).to_have_attribute("data-done", "false")
    screen.snapshot("11-already-voted")
    assert kiosk.summary()["already_voted"] == 1


def test_voter_of_another_station_is_told_where_to_go(screen, kiosk):
    kiosk.steps_up("DEMO04")
    screen.sign_in()
    screen.expect_panel("result")
    expect(screen.result()).to_have_attribute("data-kind", "wrong_station")
    expect(screen.page.locator("#result-title")).to_have_text("WRONG STATION")
    expect(screen.page.locator("#result-go")).to_have_text("Send the voter to polling station PS-0002.")
    screen.snapshot("12-wrong-station")


def test_unusable_fingers_fall_back_to_face_with_a_supervisors_approval(screen, kiosk):
    kiosk.steps_up("DEMO02")
    kiosk.suite.inject("fingerprint", "sensor_error", code="too_wet", stage="genimg")
    screen.sign_in()
    screen.expect_panel("voter")
    screen.click("#voter-continue")
    for _ in range(9):   # every capture fails until the workflow gives up on the fingers
        screen.page.wait_for_function("""() => document.body.dataset.showing === "supervisor"
            || (document.body.dataset.showing === "finger" && !document.getElementById("finger-capture").disabled)""")
        if screen.page.locator("body").get_attribute("data-showing") == "supervisor":
            break
        expect(screen.page.locator("#finger-feedback")).to_have_attribute("data-tone", "warn")
        screen.click("#finger-capture")
    screen.expect_panel("supervisor")
    expect(screen.page.locator("#supervisor-title")).to_have_text("Fingers unusable: face only")
    screen.snapshot("13-supervisor-face-only")

    screen.supervisor_approves("official", PASSWORDS["official"], "worn_fingerprints")
    expect(screen.page.locator("#error-text")).to_have_text("The approving official must be a supervisor.")
    screen.expect_panel("supervisor")
    screen.supervisor_approves("supervisor", PASSWORDS["supervisor"], "worn_fingerprints")
    screen.expect_panel("face")
    kiosk.suite.clear_faults("fingerprint")
    screen.click("#face-capture")
    screen.expect_panel("result")
    expect(screen.result()).to_have_attribute("data-kind", "confirmed")
    expect(screen.page.locator("#result-method")).to_contain_text("face only (supervisor approved)")
    screen.click("#result-continue")
    kiosk.finger_into_ink_cradle()
    screen.click("#ink-check")
    screen.expect_panel("confirm")
    screen.click("#confirm-vote")
    expect(screen.page.locator("#result-detail")).to_have_text("Vote recorded. Give the voter the ballot.")
    counts = kiosk.summary()
    assert (counts["verified_fallback"], counts["fallbacks"]) == (1, 1)


def test_voter_without_a_card_is_identified_after_a_supervisors_approval(screen, kiosk):
    kiosk.steps_up("DEMO03", card=False)
    screen.sign_in()
    screen.expect_panel("card")
    screen.click("#card-no-card")
    screen.expect_panel("supervisor")
    expect(screen.page.locator("#supervisor-title")).to_have_text("No card: identify by finger and face")
    screen.supervisor_approves("supervisor", "wrong-password", "card_lost")
    expect(screen.page.locator("#error-text")).to_have_text("Wrong user name or password.")
    screen.supervisor_approves("supervisor", PASSWORDS["supervisor"], "card_lost")
    screen.expect_panel("face")
    expect(screen.page.locator("#face-voter")).to_have_text("")          # nobody is known yet
    screen.click("#face-capture")
    screen.expect_panel("result")
    expect(screen.result()).to_have_attribute("data-kind", "confirmed")
    expect(screen.page.locator("#result-voter")).to_contain_text(kiosk.person("DEMO03")["name"])
    expect(screen.page.locator("#result-method")).to_contain_text("no card: identified by fingerprint and face")
    screen.click("#result-continue")
    kiosk.finger_into_ink_cradle()
    screen.click("#ink-check")
    screen.click("#confirm-vote")
    expect(screen.page.locator("#result-detail")).to_have_text("Vote recorded. Give the voter the ballot.")
    assert kiosk.registry.get_voter(kiosk.person("DEMO03")["registry_voter_id"]).has_voted


def test_inked_finger_is_refused(screen, kiosk):
    verify_up_to_ink(screen, "DEMO03")
    screen.click("#result-continue")
    kiosk.finger_into_ink_cradle(inked=True)
    screen.click("#ink-check")
    screen.expect_panel("result")
    expect(screen.result()).to_have_attribute("data-kind", "refused")
    expect(screen.page.locator("#result-title")).to_have_text("REFUSED: INK FOUND")   # not "NOT VERIFIED"
    expect(screen.page.locator("#result-detail")).to_contain_text("Ink found on the finger")
    expect(screen.page.locator('#steps li[data-step="ink"]')).to_have_attribute("data-done", "false")


def test_a_person_refused_for_ink_is_stopped_before_any_biometric_step_when_presented_again(screen, kiosk):
    test_inked_finger_is_refused(screen, kiosk)
    screen.click("#result-next")
    kiosk.steps_up("DEMO03")                          # the same card again
    screen.expect_panel("supervisor")
    expect(screen.page.locator("#supervisor-title")).to_have_text("Ink found earlier")
    expect(screen.page.locator("#supervisor-explain")).to_contain_text("kiosk-01")
    expect(screen.page.locator('#steps li[data-step="finger"]')).to_have_attribute("data-done", "false")
    screen.supervisor_approves("supervisor", PASSWORDS["supervisor"], "not_election_ink")
    screen.expect_panel("voter")


def test_unclear_ink_checks_end_with_the_officials_own_look(screen, kiosk):
    verify_up_to_ink(screen, "DEMO02")
    screen.click("#result-continue")
    kiosk.suite.show_face(None)
    kiosk.suite.lift_finger()                  # the cradle is empty: the lamp check cannot tell
    screen.click("#ink-check")
    expect(screen.page.locator("#ink-feedback")).to_contain_text("The check was not clear")
    screen.click("#ink-check")
    expect(screen.page.locator("#ink-feedback")).to_contain_text("Look at the finger under the lamp yourself")
    expect(screen.page.locator("#ink-check")).to_be_hidden()
    screen.click("#ink-eye-none")
    screen.expect_panel("confirm")


def test_unplugged_card_reader_shows_as_a_fault(screen, kiosk):
    screen.sign_in()
    screen.expect_panel("card")
    kiosk.suite.inject("card_reader", "unplugged")
    reader = screen.page.locator('#devices [data-device="card_reader"]')
    expect(reader).to_have_attribute("data-status", "fault")
    expect(reader.locator(".device-status")).to_have_text("Fault")
    expect(screen.page.locator("#error-text")).to_have_text("The Card reader failed. Check it and try again.")
    expect(screen.page.locator("#card-wait")).to_be_visible()          # the official retries once it is fixed


def test_end_of_day_page_shows_a_supervisor_every_kiosk_of_the_station(screen, kiosk):
    voter = kiosk.person("DEMO02")["registry_voter_id"]
    kiosk.registry.mark_voted(voter, kiosk_id="kiosk-02", station_id="PS-0001", official_id="official",
                              method="biometric")      # another booth of the station, same registry
    screen.sign_in("supervisor")
    screen.click("#nav-eod")
    screen.expect_panel("eod")
    expect(screen.page.locator("#eod-station")).to_be_visible()
    expect(screen.page.locator('#eod-station-table [data-kiosk="kiosk-02"] [data-count="votes_marked"]')
           ).to_have_text("1")
    expect(screen.page.locator('#eod-station-table [data-kiosk="Station total"] [data-count="votes_marked"]')
           ).to_have_text("1")


def test_end_of_day_page_shows_counts_and_exports_the_audit_bundle(screen, kiosk, tmp_path):
    kiosk.steps_up("DEMO04")
    screen.sign_in()
    screen.expect_panel("result")
    screen.click("#nav-eod")
    screen.expect_panel("eod")
    expect(screen.page.locator('#eod-counts [data-count="wrong_station"] td')).to_have_text("1")
    expect(screen.page.locator('#eod-counts [data-count="registered"] th')).to_have_text("Voters registered here")
    screen.page.fill("#export-username", "auditor")
    screen.page.fill("#export-password", PASSWORDS["auditor"])
    with screen.page.expect_download() as download_info:
        screen.click("#export-submit")
    expect(screen.page.locator("#export-summary")).to_contain_text("Exported PS-0001-")
    screen.snapshot("14-end-of-day", full_page=True)
    bundle = tmp_path / download_info.value.suggested_filename
    download_info.value.save_as(bundle)
    report = verify_bundle(bundle)
    assert report.ok, report.error


def test_khmer_switch_translates_the_screen_with_the_shipped_font(screen, kiosk):
    screen.page.click('#languages [data-lang="km"]')
    expect(screen.page.locator("html")).to_have_attribute("lang", "km")
    expect(screen.page.locator('[data-panel="signin"] h2')).to_have_text("ការចូលរបស់មន្ត្រី")
    loaded = screen.page.evaluate("""async () => (await document.fonts.load('20px "Khmer OS"', 'ក')).length""")
    assert loaded == 1
    kiosk.steps_up("DEMO04")
    screen.sign_in()
    screen.expect_panel("result")
    expect(screen.page.locator("#result-title")).to_have_text("ខុសការិយាល័យបោះឆ្នោត")
    expect(screen.page.locator("#result-go")).to_contain_text("PS-0002")
    screen.snapshot("15-khmer-wrong-station")


def test_the_screen_works_with_every_request_outside_the_kiosk_blocked(page, kiosk):
    outside = []

    def only_the_kiosk(route):
        if route.request.url.startswith(kiosk.url + "/"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_the_kiosk)
    screen = Screen(page, kiosk).open()
    screen.page.click('#languages [data-lang="km"]')
    kiosk.steps_up("DEMO04")
    screen.sign_in()
    screen.expect_panel("result")
    expect(screen.page.locator("#result-go")).to_contain_text("PS-0002")
    assert screen.page.evaluate("""async () => (await document.fonts.load('20px "Khmer OS"', 'ក')).length""") == 1
    assert outside == []


def test_a_reload_keeps_the_official_signed_in_and_the_voter_session(screen, kiosk):
    kiosk.steps_up("DEMO01")
    screen.sign_in()
    screen.expect_panel("voter")
    screen.page.reload()
    expect(screen.page.locator("body")).to_have_attribute("data-ready", "true")
    screen.expect_panel("voter")
    expect(screen.page.locator("#voter-name")).to_have_text(kiosk.person("DEMO01")["name"])
    screen.click("#voter-continue")
    screen.expect_panel("face")


def test_signing_out_cancels_the_open_session_and_returns_to_sign_in(screen, kiosk):
    kiosk.steps_up("DEMO01")
    screen.sign_in()
    screen.expect_panel("voter")
    screen.click("#nav-sign-out")
    screen.expect_panel("signin")
    expect(screen.page.locator("#statusbar")).to_be_hidden()
    assert kiosk.app.extensions["kiosk"].workflow.open_sessions() == []


def test_the_bar_and_end_of_day_buttons_wait_for_the_summaries_instead_of_dropping_a_click(screen):
    held = []
    screen.page.route("**/api/summary", lambda route: held.append(route))   # answered only when released
    screen.sign_in("auditor")
    screen.expect_panel("eod")
    expect(screen.page.locator("#export-submit")).to_be_disabled()
    expect(screen.page.locator("#eod-refresh")).to_be_disabled()
    expect(screen.page.locator("#nav-sign-out")).to_be_disabled()
    for _ in range(200):                                       # the held request reaches the handler
        if held:
            break
        screen.page.wait_for_timeout(50)
    held[0].continue_()
    expect(screen.page.locator("#export-submit")).to_be_enabled()
    with screen.page.expect_download() as download_info:
        screen.click("#export-submit")
    assert download_info.value.suggested_filename.endswith(".kab")


def test_an_auditor_sees_only_the_end_of_day_page_and_exports_with_their_own_sign_in(screen):
    screen.sign_in("auditor")
    screen.expect_panel("eod")
    expect(screen.page.locator("#steps")).to_be_hidden()
    expect(screen.page.locator("#nav-booth")).to_be_hidden()
    expect(screen.page.locator("#export-credentials")).to_be_hidden()
    with screen.page.expect_download() as download_info:
        screen.click("#export-submit")
    assert download_info.value.suggested_filename.endswith(".kab")
    expect(screen.page.locator("#export-summary")).to_contain_text("entries")
