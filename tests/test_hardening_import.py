"""Bad imports found by the fault campaign: every one is a report naming the row (by its line in the
file) or the manifest, never a traceback, and nothing is written."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import pytest

from kiosk.registry import ImportRejected, commission
MAX_NAME_LENGTH = 200
from test_registry_import import COMMISSION, _row, import_export, registry, templates, write_export  # noqa: F401


def resign(export, manifest) -> None:
    """Replace the manifest (any JSON value) and sign it as the commission would."""
    raw = (json.dumps(manifest, indent=2) + "\n").encode()
    (export / "manifest.json").write_bytes(raw)
    (export / commission.SIGNATURE).write_text(commission.sign_manifest(raw, COMMISSION), encoding="utf-8")


def problems(registry, export):  # noqa: F811
    with pytest.raises(ImportRejected) as rejected:
        import_export(registry, export)
    assert registry.count_voters() == 0
    return [(p.line, p.code) for p in rejected.value.report.problems]


def test_fingers_that_are_not_an_object_are_a_row_problem(registry, templates, tmp_path):  # noqa: F811
    rows = [_row(templates), _row(templates, "234567891", "1", fingers=[templates["iso"]]),
            _row(templates, "345678912", "7", fingers="right_index")]
    assert problems(registry, write_export(tmp_path / "x", rows)) == [(2, "fingers_invalid"), (3, "fingers_invalid")]


def test_line_numbers_count_blank_lines(registry, templates, tmp_path):  # noqa: F811
    export = write_export(tmp_path / "x", [_row(templates), _row(templates, "234567891", "3")])
    voters = export / "voters.jsonl"
    text = voters.read_text()
    first, second = text.splitlines()
    voters.write_text(f"{first}\n\n\n{second}\n")
    manifest = json.loads((export / "manifest.json").read_text())
    manifest["files"]["voters.jsonl"]["sha256"] = hashlib.sha256(voters.read_bytes()).hexdigest()
    resign(export, manifest)
    assert problems(registry, export) == [(4, "id_check_digit")]


@pytest.mark.parametrize("manifest", [[1, 2], "manifest", {"format": "x", "files": []}])
def test_a_manifest_of_the_wrong_shape_is_reported(registry, templates, tmp_path, manifest):  # noqa: F811
    export = write_export(tmp_path / "x", [_row(templates)])
    resign(export, manifest)
    assert problems(registry, export)[0][0] == 0


def test_files_as_a_list_and_a_file_entry_as_a_string_are_reported(registry, templates, tmp_path):  # noqa: F811
    export = write_export(tmp_path / "x", [_row(templates)])
    manifest = json.loads((export / "manifest.json").read_text())
    resign(export, {**manifest, "files": ["voters.jsonl"]})
    assert (0, "manifest_invalid") in problems(registry, export)
    resign(export, {**manifest, "files": {"voters.jsonl": "abc"}})
    assert (0, "manifest_invalid") in problems(registry, export)


def test_voters_file_that_is_not_utf8_is_reported(registry, templates, tmp_path):  # noqa: F811
    export = write_export(tmp_path / "x", [_row(templates)])
    voters = export / "voters.jsonl"
    voters.write_bytes(voters.read_bytes().replace(b"SOK", b"S\xffK"))
    manifest = json.loads((export / "manifest.json").read_text())
    manifest["files"]["voters.jsonl"]["sha256"] = hashlib.sha256(voters.read_bytes()).hexdigest()
    resign(export, manifest)
    assert problems(registry, export) == [(1, "row_invalid")]


def test_a_huge_name_is_refused(registry, templates, tmp_path):  # noqa: F811
    rows = [_row(templates, name="A" * (MAX_NAME_LENGTH + 1))]
    assert problems(registry, write_export(tmp_path / "x", rows)) == [(1, "name_invalid")]


def test_an_id_number_in_arabic_indic_digits_is_refused(registry, templates, tmp_path):  # noqa: F811
    rows = [_row(templates, id_number="١٢٣٤٥٦٧٨٩", check="7")]
    assert problems(registry, write_export(tmp_path / "x", rows)) == [(1, "id_invalid")]


def test_the_cli_prints_a_report_not_a_traceback(templates, tmp_path):  # noqa: F811
    from kiosk import keys
    from kiosk.registry.commission import trust_key

    export = write_export(tmp_path / "x", [_row(templates, fingers=[1, 2])])
    key_dir = tmp_path / "var" / "keys"
    keys.symmetric_key(key_dir, "registry", create=True, environ={})
    trust_key(key_dir, COMMISSION.verifier)
    done = subprocess.run([sys.executable, "-m", "kiosk.cli", "import", str(export), "--no-dedup"],
                          env={**os.environ, "KIOSK_DATA_DIR": str(tmp_path / "var"), "KIOSK_KEY_DIR": str(key_dir)},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert [(p["line"], p["code"]) for p in json.loads(done.stdout)["problems"]] == [(1, "fingers_invalid")]
