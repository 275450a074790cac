"""API fuzzing with schemathesis against the kiosk's own ``/openapi.json`` (the fault campaign's first
part, kept): every operation gets generated requests, valid and invalid; no answer may be a server
error, and every answer must match the documented status codes and schemas.

    python -m bench fuzz [--examples N]      # per operation (default 200; the test suite runs 5)

Runs the real app in-process (WSGI) on a copy of the demo registry, signed in as an official.
"""
from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

SKIPPED = {("POST", "/api/auth/sign-out")}   # would revoke the fuzzer's own token
"""Operations not fuzzed. Booth screen pages are skipped too (HTML, not the JSON API)."""


@dataclass
class FuzzReport:
    requests: int = 0
    server_errors: int = 0
    failures: list[str] = field(default_factory=list)    # "<METHOD> <path>: <check>: <detail>"
    statuses: Counter = field(default_factory=Counter)
    seconds: float = 0.0


def fuzz(app, token: str, *, examples: int, seed: int = 0) -> FuzzReport:
    """Fuzz every API operation of ``app`` with ``examples`` generated cases each."""
    import hypothesis
    import schemathesis
    from hypothesis import HealthCheck, Phase
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

    report = FuzzReport()
    started = time.perf_counter()
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    headers = {"Authorization": f"Bearer {token}"}
    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in SKIPPED or not (
                operation.path.startswith("/api/") or operation.path == "/health"):
            continue

        @hypothesis.settings(max_examples=examples, deadline=None, database=None, derandomize=False,
                             phases=[Phase.generate], suppress_health_check=list(HealthCheck))
        @hypothesis.seed(seed)
        @hypothesis.given(case=_cases(operation))
        def run(case) -> None:
            response = case.call(headers=headers)
            report.requests += 1
            report.statuses[response.status_code] += 1
            report.server_errors += response.status_code >= 500 and response.status_code != 503
            try:
                case.validate_response(response, checks=[not_a_server_error, status_code_conformance,
                                                         response_schema_conformance])
            except Exception as exc:  # noqa: BLE001 - schemathesis raises a failure group; keep its text
                report.failures.append(f"{operation.method.upper()} {operation.path}: "
                                       f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}")

        run()
    report.seconds = time.perf_counter() - started
    return report


def _cases(operation):
    """Valid requests and invalid ones (wrong types, missing fields, bad values) for ``operation``."""
    from hypothesis import strategies as st
    from schemathesis import GenerationMode

    return st.one_of(operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE))


def demo_app(data: Path):
    """The kiosk on a demo registry in ``data`` (built once there), and an official's token."""
    from kiosk import config, create_app
    from kiosk.cli import prepare_demo

    passwords = {"official": "official-pass", "supervisor": "supervisor-pass", "auditor": "auditor-pass"}
    settings = config.load(overrides={"data_dir": data, "key_dir": data / "keys", "create_keys": True}, environ={})
    prepare_demo(settings, source="packaged", passwords=passwords)
    app = create_app({"data_dir": data, "key_dir": data / "keys", "max_failed_signins": 1000})
    token = app.test_client().post("/api/auth/sign-in", json={"username": "official",
                                                              "password": passwords["official"]}).json["token"]
    return app, token


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench fuzz", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=200, help="generated cases per operation")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    import os

    from kiosk import logs

    logs.configure("ERROR")   # every refused sign-in is a warning: thousands of lines otherwise
    with tempfile.TemporaryDirectory() as tmp:
        app, token = demo_app(Path(tmp) / "data")
        try:
            report = fuzz(app, token, examples=args.examples, seed=args.seed)
        finally:
            app.extensions["kiosk"].close()
            shutil.rmtree(Path(tmp) / "data", ignore_errors=True)
    print(f"fuzz: {report.requests} requests in {report.seconds:.1f} s on {os.cpu_count()} cores "
          f"({args.examples} examples per operation, seed {args.seed})")
    print("statuses: " + ", ".join(f"{code}: {n}" for code, n in sorted(report.statuses.items())))
    print(f"server errors: {report.server_errors}   schema or status mismatches: {len(report.failures)}")
    for failure in sorted(set(report.failures))[:20]:
        print(f"  {failure}")
    return 0 if report.server_errors == 0 and not report.failures else 1
