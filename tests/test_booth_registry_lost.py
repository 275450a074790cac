"""The booth screen while the station's registry server (PostgreSQL) is lost, in a real headless
Chromium against the real kiosk and simulators (the harness of tests/test_booth_screen.py), on a real
PostgreSQL cluster of this module's own that the tests stop and start again.

The screen polls /health every 2 s: while the registry is lost it says what the official should do
(English and Khmer), stops the card wait and refuses the steps that need the registry, before any
step has failed; when the server is back it clears by itself."""
from __future__ import annotations

import contextlib
import json
import shutil

import pytest

from kiosk import config, create_app
from kiosk.booth import catalogue
from kiosk.cli import prepare_demo
from simulators.suite import SimulatorSuite
from test_booth_screen import Kiosk, Screen, _Server, browser, expect, page  # noqa: F401  (fixtures)
from test_e2e import PASSWORDS

NOTICED_MS = 8_000      # two 2 s polls and a 1 s ping, with room for a loaded machine


@pytest.fixture(scope="module")
def station_db(tmp_path_factory):
    """A cluster of this module's own (stopped and started by the tests) holding the demo registry."""
    from pg_fixtures import _started_cluster

    cluster = _started_cluster()
    try:
        root = tmp_path_factory.mktemp("registry-lost")
        url = cluster.create_database("station")
        settings = config.load(overrides={"data_dir": root, "key_dir": root / "keys", "create_keys": True,
                                          "database_url": url}, environ={})
        prepare_demo(settings, source="packaged", passwords=PASSWORDS)
        yield cluster, url, root
    finally:
        cluster.cleanup()


@pytest.fixture
def station(station_db, tmp_path):
    """A kiosk on the cluster (running again at the end of every test) with its simulators."""
    cluster, url, root = station_db
    data = tmp_path / "data"
    shutil.copytree(root, data)
    voters = {v["voter_id"]: v for v in json.loads((data / "demo" / "voters.json").read_text())["voters"]}
    with contextlib.ExitStack() as stack:
        suite = SimulatorSuite(demo_voters=data / "demo" / "voters.json").start()
        stack.callback(suite.stop)
        devices = suite.describe()["devices"]
        app = create_app({"data_dir": data, "key_dir": data / "keys", "database_url": url,
                          "card_reader_url": devices["card_reader"]["path"],
                          "card_reader_framing": devices["card_reader"]["framing"],
                          "fingerprint_url": devices["fingerprint"]["path"],
                          "lamp_url": devices["lamp"]["path"], "lamp_kind": devices["lamp"]["kind"],
                          "camera_source": devices["camera"]["url"],
                          "card_timeout_seconds": 1.0, "finger_timeout_seconds": 1.0})
        stack.callback(app.extensions["kiosk"].close)     # its last summary needs the server:
        stack.callback(lambda: cluster.is_running() or cluster.start())   # started again before it
        server = _Server(app)
        stack.callback(server.stop)
        yield cluster, Kiosk(server.url, app, suite, voters)


def signed_in_waiting_for_a_card(page, kiosk) -> Screen:  # noqa: F811
    screen = Screen(page, kiosk).open()
    screen.sign_in()
    screen.expect_panel("card")
    expect(page.locator("#card-feedback")).to_contain_text("Still waiting")
    return screen


def test_a_lost_registry_server_is_announced_in_english_and_khmer_before_any_step_fails(page, station):  # noqa: F811
    cluster, kiosk = station
    screen = signed_in_waiting_for_a_card(page, kiosk)
    expect(page.locator("#registry-lost")).to_be_hidden()
    cluster.stop("immediate")
    banner = page.locator("#registry-lost")
    expect(banner).to_be_visible(timeout=NOTICED_MS)
    english = catalogue.load("en")
    expect(banner).to_contain_text(english["registry.lost"])
    for advice in ("Keep the voter waiting", "do not start a new voter", "reconnects by itself",
                   "call the station technician"):
        assert advice in english["registry.lost"]
    expect(page.locator("#error")).to_be_hidden()        # said before any step failed
    page.click('#languages .lang[data-lang="km"]')
    expect(banner).to_contain_text(catalogue.load("km")["registry.lost"])
    screen.snapshot("12-registry-lost")


def test_the_card_wait_pauses_while_the_registry_is_lost_and_resumes_by_itself_when_it_returns(page, station):  # noqa: F811
    cluster, kiosk = station
    screen = signed_in_waiting_for_a_card(page, kiosk)
    cluster.stop("immediate")
    expect(page.locator("body")).to_have_attribute("data-registry", "lost", timeout=NOTICED_MS)
    kiosk.steps_up("DEMO01")                                  # a card arrives: it is not read meanwhile
    expect(page.locator("#card-no-card")).to_be_disabled()
    expect(page.locator("#card-wait")).to_be_disabled()
    page.wait_for_timeout(1500)                               # longer than one card wait (1 s)
    assert page.locator("body").get_attribute("data-showing") == "card"
    cluster.start()
    expect(page.locator("#registry-lost")).to_be_hidden(timeout=NOTICED_MS + 15_000)   # the pool reconnects
    screen.expect_panel("voter")
    expect(page.locator("#voter-name")).to_have_text(kiosk.person("DEMO01")["name"])
    expect(page.locator("#error")).to_be_hidden()


def test_confirming_the_vote_is_refused_on_the_screen_while_the_registry_is_lost(page, station):  # noqa: F811
    cluster, kiosk = station
    kiosk.steps_up("DEMO02")
    screen = Screen(page, kiosk).open()
    screen.sign_in()
    screen.expect_panel("voter")
    screen.click("#voter-continue")
    screen.expect_panel("face")
    screen.click("#face-capture")
    screen.expect_panel("result")
    screen.click("#result-continue")
    kiosk.finger_into_ink_cradle(inked=False)
    screen.click("#ink-check")
    screen.expect_panel("confirm")
    cluster.stop("immediate")
    expect(page.locator("#registry-lost")).to_be_visible(timeout=NOTICED_MS)
    expect(page.locator("#confirm-vote")).to_be_disabled()
    cluster.start()
    expect(page.locator("#confirm-vote")).to_be_enabled(timeout=NOTICED_MS + 15_000)
    screen.click("#confirm-vote")
    expect(page.locator("#result-title")).to_have_text("VERIFIED")
    assert kiosk.registry.get_voter(kiosk.person("DEMO02")["registry_voter_id"]).has_voted
