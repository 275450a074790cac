"""The boot self-test matches known samples and reports what it found."""
from kiosk.selftest import engine_self_test, face_self_test, fingerprint_self_test


def test_engines_pass_their_self_test_on_the_packaged_samples():
    assert fingerprint_self_test() == "ok"
    assert face_self_test() == "ok"


def test_self_test_result_is_audit_safe():
    result = engine_self_test()
    assert set(result) == {"fingerprint", "face", "milliseconds"} and isinstance(result["milliseconds"], int)
