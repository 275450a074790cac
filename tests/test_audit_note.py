"""Signed notes and checkpoints in the C2SP text formats, checked against the Go reference vector."""
import base64
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.audit.errors import NoteError
from kiosk.audit.note import (Checkpoint, Signer, Verifier, add_signature, key_hash, open_note, parse_note,
                              sign_note)


@pytest.fixture(scope="module")
def vector(tests_data):
    return json.loads((tests_data / "audit" / "signed_note_vectors.json").read_text())


@pytest.fixture(scope="module")
def reference_signer(vector):
    raw = base64.b64decode(vector["signer_key"].split("+", 4)[-1])  # PRIVATE+KEY+name+hash+key
    assert raw[0] == 0x01
    return Signer(vector["name"], Ed25519PrivateKey.from_private_bytes(raw[1:]))


def test_verifier_key_string_matches_the_reference_implementation(vector, reference_signer):
    assert reference_signer.verifier.vkey == vector["verifier_key"]


def test_key_hash_is_sha256_of_name_newline_algorithm_and_key(vector):
    verifier = Verifier.parse(vector["verifier_key"])
    assert key_hash(verifier.name, verifier.public_key).hex() == vector["verifier_key"].split("+")[1] == "c74f20a3"


def test_signing_the_reference_text_gives_the_reference_note_byte_for_byte(vector, reference_signer):
    assert sign_note(vector["text"], [reference_signer]) == vector["signed_note"]


def test_the_reference_note_opens_with_its_verifier_key(vector):
    note, good = open_note(vector["signed_note"], [Verifier.parse(vector["verifier_key"])])
    assert note.text == vector["text"] and [v.name for v in good] == ["PeterNeumann"]


def test_a_changed_text_no_longer_verifies(vector):
    tampered = vector["signed_note"].replace("problem,", "problem;", 1)
    with pytest.raises(NoteError, match="does not verify"):
        open_note(tampered, [Verifier.parse(vector["verifier_key"])])


def test_strict_opening_rejects_a_signature_by_an_unknown_key(vector):
    other = Signer("Other", Ed25519PrivateKey.generate())
    with pytest.raises(NoteError, match="unknown key 'PeterNeumann'"):
        open_note(vector["signed_note"], [other.verifier])
    _, good = open_note(vector["signed_note"], [other.verifier], strict=False)
    assert good == []


def test_a_verifier_key_whose_hash_does_not_match_is_refused(vector):
    name, _, key = vector["verifier_key"].split("+", 2)
    with pytest.raises(NoteError, match="key hash does not match"):
        Verifier.parse(f"{name}+00000000+{key}")


def test_co_signatures_append_lines_and_each_verifies():
    log = Signer("kiosk-audit/PS-1/k1", Ed25519PrivateKey.generate())
    officer = Signer("presiding-officer-PS-1", Ed25519PrivateKey.generate())
    note = sign_note(Checkpoint("kiosk-audit/PS-1/k1", 3, b"\x07" * 32).text(), [log])
    cosigned = add_signature(note, officer, [log.verifier])
    assert cosigned.startswith(note)
    _, good = open_note(cosigned, [log.verifier, officer.verifier])
    assert good == [log.verifier, officer.verifier]
    with pytest.raises(NoteError, match="already signed"):
        add_signature(cosigned, officer)


def test_the_same_key_signing_twice_is_refused():
    log = Signer("log", Ed25519PrivateKey.generate())
    text = "x\n"
    doubled = text + "\n" + log.signature_line(text) * 2
    with pytest.raises(NoteError, match="twice"):
        open_note(doubled, [log.verifier])


@pytest.mark.parametrize("bad", ["no blank line\n— a AAAA\n", "text\n\n", "text\n\n— k\n",
                                 "text\n\nnot a signature\n", "text\n\n— k AAAA", "text\n\n— k QUJD\n"])
def test_malformed_notes_are_refused(bad):
    with pytest.raises(NoteError):
        parse_note(bad)


def test_checkpoint_text_is_origin_size_and_base64_root():
    text = Checkpoint("example.com/log", 12, bytes(range(32))).text()
    assert text == "example.com/log\n12\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n"


@settings(max_examples=100)
@given(st.text(st.characters(min_codepoint=0x21, max_codepoint=0x2fff, blacklist_characters="+\u2014",
                             blacklist_categories=("Zs", "Zl", "Zp", "Cc", "Cs")),
               min_size=1, max_size=30),
       st.integers(0, 2**40), st.binary(min_size=32, max_size=32))
def test_checkpoints_round_trip_through_text(origin, size, root):
    checkpoint = Checkpoint(origin, size, root)
    assert Checkpoint.parse(checkpoint.text()) == checkpoint


@pytest.mark.parametrize("text", ["o\n012\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",
                                  "o\n12\nAAEC\n", "o\n-1\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",
                                  "o\n12\n", " o\n1\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n"])
def test_malformed_checkpoints_are_refused(text):
    with pytest.raises(NoteError):
        Checkpoint.parse(text)


@settings(max_examples=100)
@given(st.binary(max_size=200))
def test_parsing_arbitrary_bytes_as_a_note_either_works_or_raises_note_error(data):
    try:
        parse_note(data.decode("utf-8", errors="replace"))
    except NoteError:
        pass


@settings(max_examples=100)
@given(st.text(st.characters(min_codepoint=0x21, max_codepoint=0x2fff, blacklist_characters="+\u2014",
                             blacklist_categories=("Zs", "Zl", "Zp", "Cc", "Cs")), min_size=1, max_size=30),
       st.binary(min_size=32, max_size=32))
def test_verifier_keys_round_trip_through_their_text_form(name, public_key):
    verifier = Verifier(name, public_key)
    assert Verifier.parse(verifier.vkey) == verifier
