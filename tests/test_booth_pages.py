"""The booth screen as served by the app: where it lives, that it needs nothing from the internet,
and that it ships its Khmer font with the font's licence."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from kiosk import create_app
from kiosk.booth import catalogue
from kiosk.workflow import FACE_ONLY_REASONS, NO_CARD_REASONS

STATIC = Path(catalogue.__file__).resolve().parent / "static"


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    data = tmp_path_factory.mktemp("booth-pages")
    app = create_app({"data_dir": data, "key_dir": data / "keys", "create_keys": True})
    try:
        yield app.test_client()
    finally:
        app.extensions["kiosk"].close()


def test_the_root_sends_the_browser_to_the_booth_screen(client):
    reply = client.get("/")
    assert reply.status_code == 302 and reply.location.endswith("/booth/")


def test_the_booth_screen_is_an_html_page_without_a_token(client):
    reply = client.get("/booth/")
    assert reply.status_code == 200 and reply.mimetype == "text/html"
    assert "Official sign-in" in reply.get_data(as_text=True)


def test_the_page_and_its_assets_load_nothing_from_the_internet(client):
    page = client.get("/booth/").get_data(as_text=True)
    assets = re.findall(r'(?:src|href)="(/[^"]+)"', page)
    assert {Path(a).name for a in assets} >= {"booth.css", "booth.js", "api.js", "i18n.js"}
    for text in [page] + [client.get(asset).get_data(as_text=True) for asset in assets]:
        assert not re.search(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", text, re.IGNORECASE)


def test_the_page_offers_the_workflows_reason_codes(client):
    page = client.get("/booth/").get_data(as_text=True)
    config = re.search(r'<script id="booth-config" type="application/json">(.*?)</script>', page).group(1)
    for reason in FACE_ONLY_REASONS + NO_CARD_REASONS:
        assert f'"{reason}"' in config


@pytest.mark.parametrize("language", catalogue.LANGUAGES)
def test_each_catalogue_is_served_as_json(client, language):
    reply = client.get(f"/booth/messages/{language}.json")
    assert reply.status_code == 200 and reply.json == catalogue.load(language)


def test_an_unknown_catalogue_is_a_json_404(client):
    reply = client.get("/booth/messages/fr.json")
    assert reply.status_code == 404 and reply.json["error"]["code"] == "not_found"


def test_the_khmer_font_is_served_and_its_lgpl_notice_sits_beside_it(client):
    reply = client.get("/booth/static/fonts/KhmerOS.ttf")
    assert reply.status_code == 200 and reply.data[:4] == b"\x00\x01\x00\x00"   # a TrueType font
    assert "LGPL-2.1+" in (STATIC / "fonts" / "KhmerOS-COPYRIGHT.txt").read_text()
    assert "GNU LESSER GENERAL PUBLIC LICENSE" in (STATIC / "fonts" / "LGPL-2.1.txt").read_text()
    assert 'url("fonts/KhmerOS.ttf")' in (STATIC / "booth.css").read_text()
