"""The booth screen's message catalogues: complete in every language, covering everything the
kiosk and the page can show, so an official never sees a raw key."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from kiosk import config
from kiosk.booth import catalogue
from kiosk.devices import DEVICE_NAMES
from kiosk.registry import Registry
from kiosk.workflow import FACE_ONLY_REASONS, MESSAGE_KEYS, NO_CARD_REASONS, TERMINAL

BOOTH = Path(catalogue.__file__).resolve().parent
PLACEHOLDER = re.compile(r"\{(\w+)\}")


@pytest.fixture(scope="module")
def english() -> dict[str, str]:
    return catalogue.load("en")


@pytest.mark.parametrize("language", catalogue.LANGUAGES)
def test_every_language_has_exactly_the_english_keys(language, english):
    assert set(catalogue.load(language)) == set(english)


@pytest.mark.parametrize("language", catalogue.LANGUAGES)
def test_translations_keep_the_placeholders_and_are_not_empty(language, english):
    texts = catalogue.load(language)
    for key, text in english.items():
        assert texts[key].strip(), key
        assert set(PLACEHOLDER.findall(texts[key])) == set(PLACEHOLDER.findall(text)), key


def test_khmer_catalogue_is_written_in_khmer_script(english):
    khmer = catalogue.load("km")
    translated = [key for key in english if re.search("[\u1780-\u17ff]", khmer[key])]
    # language names, "UV" and the "SHA-256" label may stay in Latin script; nothing else
    untranslated = set(english) - set(translated)
    assert untranslated <= {"lang.en", "eod.sha256"}


@pytest.mark.parametrize("key", sorted(MESSAGE_KEYS))
def test_every_message_key_the_workflow_emits_has_a_text(key, english):
    assert key in english


@pytest.mark.parametrize("reason", sorted(set(FACE_ONLY_REASONS) | set(NO_CARD_REASONS)))
def test_every_fallback_reason_code_has_a_label(reason, english):
    assert f"reason.{reason}" in english


@pytest.mark.parametrize("device", DEVICE_NAMES)
def test_every_device_has_a_name_and_every_status_a_word(device, english):
    assert f"device.{device}" in english
    for status in ("ready", "busy", "fault", "not_configured"):
        assert f"device_status.{status}" in english


def test_every_end_of_day_count_has_a_label(tmp_path, english):
    settings = config.load(overrides={"data_dir": tmp_path, "key_dir": tmp_path / "keys", "create_keys": True},
                           environ={})
    registry = Registry.open(settings, create_keys=True)
    try:
        counts = registry.summary(settings.station_id)
    finally:
        registry.close()
    assert {f"count.{name}" for name in counts} <= set(english)


def test_every_terminal_state_has_a_result_title(english):
    titles = {"voted": "result.verified", "refused": "result.not_verified_title",
              "wrong_station": "result.wrong_station_title", "already_voted": "result.already_voted_title",
              "cancelled": "result.cancelled_title"}
    assert set(titles) == set(TERMINAL)
    assert set(titles.values()) <= set(english)


def test_every_key_the_page_names_has_an_english_text(english):
    html = (BOOTH / "templates" / "booth.html").read_text(encoding="utf-8")
    script = (BOOTH / "static" / "booth.js").read_text(encoding="utf-8")
    named = set(re.findall(r'data-i18n="([a-z_.]+)"', html)) | set(re.findall(r"t\['([a-z_.]+)'\]", html))
    named |= set(re.findall(r'\bt\("([a-z_]+\.[a-z_.]+)"', script))
    named |= {key for key in re.findall(r'"([a-z_]+\.[a-z_]+)"', script) if key.split(".")[0] in
              {"card", "finger", "face", "ink", "result", "error", "voter", "eod", "supervisor"}}
    assert named, "the page should name catalogue keys"
    assert named - set(english) == set()


def test_an_unknown_language_is_refused():
    with pytest.raises(catalogue.CatalogueError, match="unknown language"):
        catalogue.load("xx")
