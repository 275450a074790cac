"""The workflow's state machine: one table of (state, action) -> next states, which every step obeys.

Every pair the table leaves out is tried on a real Workflow (a session put in that state) and must be
refused as an InvalidStep before any device, registry or audit call; a few expectations are written
out by hand so the table is not only checked against itself.
"""
from __future__ import annotations

import ast
import itertools
from pathlib import Path

import pytest

from kiosk import workflow as wf
from kiosk.workflow import Action, State
from kiosk.workflow.transitions import TRANSITIONS, allowed_actions, require_step, require_transition

ILLEGAL = sorted(pair for pair in itertools.product(State, Action) if pair not in TRANSITIONS)


class Untouchable:
    """Devices and registry for steps that must be refused before they reach either."""

    def __getattr__(self, name: str):
        raise AssertionError(f"a refused step reached {name}")


@pytest.fixture
def booth():
    events: list[tuple] = []
    workflow = wf.Workflow(registry=Untouchable(), devices=Untouchable(), rules=wf.Rules("PS-0001", "kiosk-01"),
                           record=lambda event, **fields: events.append((event, fields)) or len(events),
                           pseudonym=lambda n: "ab" * 32, biometrics=Untouchable(), clock=lambda: 0.0)
    workflow.events = events
    return workflow


STEP_CALLS = {
    Action.READ_CARD: lambda booth, sid: booth.read_card(sid),
    Action.START_WITHOUT_CARD: lambda booth, sid: booth.start_without_card(sid, "sup-1", "card_lost"),
    Action.CAPTURE_FINGER: lambda booth, sid: booth.capture_finger(sid),
    Action.APPROVE_FACE_ONLY: lambda booth, sid: booth.approve_face_only(sid, "sup-1", "injury"),
    Action.APPROVE_INK_ON_RECORD: lambda booth, sid: booth.approve_ink_on_record(sid, "sup-1", "not_election_ink"),
    Action.CHECK_LIVENESS: lambda booth, sid: booth.check_liveness(sid),
    Action.APPROVE_LIVENESS: lambda booth, sid: booth.approve_liveness(sid, "sup-1", "checked_in_person"),
    Action.CAPTURE_FACE: lambda booth, sid: booth.capture_face(sid),
    Action.CHECK_INK: lambda booth, sid: booth.check_ink(sid),
    Action.CONFIRM: lambda booth, sid: booth.confirm(sid, "po-1"),
    Action.CANCEL: lambda booth, sid: booth.cancel(sid),
}


def test_every_action_is_a_workflow_step():
    assert set(STEP_CALLS) == set(Action)
    assert all(callable(getattr(wf.Workflow, action.value)) for action in Action)


@pytest.mark.parametrize(("state", "action"), ILLEGAL, ids=[f"{s.value}-{a.value}" for s, a in ILLEGAL])
def test_an_action_the_table_leaves_out_is_refused_and_changes_nothing(booth, state, action):
    session = booth.start("po-1")
    session.state, session.message_key = state, "card.present"
    before = len(booth.events)
    with pytest.raises(wf.InvalidStep, match=f"in state {state.value}"):
        STEP_CALLS[action](booth, session.session_id)
    assert (session.state, session.message_key, session.outcome) == (state, "card.present", None)
    assert len(booth.events) == before


def test_every_state_is_in_the_table_or_terminal():
    sources = {state for state, _ in TRANSITIONS}
    assert sources == set(State) - wf.TERMINAL
    assert all(targets and targets <= set(State) for targets in TRANSITIONS.values())


# -- expectations written out by hand ------------------------------------------------------------------

def test_terminal_states_allow_nothing_not_even_cancel():
    assert wf.TERMINAL == {State.VOTED, State.REFUSED, State.WRONG_STATION, State.ALREADY_VOTED, State.CANCELLED}
    for state in wf.TERMINAL:
        assert allowed_actions(state) == frozenset()


def test_what_each_waiting_state_allows():
    assert allowed_actions("waiting_for_card") == {"read_card", "start_without_card", "cancel"}
    assert allowed_actions("capture_finger") == {"capture_finger", "cancel"}
    assert allowed_actions("identify_finger") == {"capture_finger", "cancel"}
    assert allowed_actions("fingers_unusable") == {"approve_face_only", "cancel"}
    assert allowed_actions("check_liveness") == {"check_liveness", "cancel"}
    assert allowed_actions("liveness_failed") == {"approve_liveness", "cancel"}
    assert allowed_actions("capture_face") == {"capture_face", "cancel"}
    assert allowed_actions("identify_face") == {"capture_face", "cancel"}
    assert allowed_actions("check_ink") == {"check_ink", "cancel"}
    assert allowed_actions("awaiting_confirmation") == {"confirm", "cancel"}


def test_the_normal_path_and_the_fallbacks_are_in_the_table():
    walks = [
        [("waiting_for_card", "read_card", "capture_finger"), ("capture_finger", "capture_finger", "capture_face"),
         ("capture_face", "capture_face", "check_ink"), ("check_ink", "check_ink", "awaiting_confirmation"),
         ("awaiting_confirmation", "confirm", "voted")],
        [("waiting_for_card", "start_without_card", "identify_finger"),
         ("identify_finger", "capture_finger", "identify_face"), ("identify_face", "capture_face", "wrong_station")],
        [("capture_finger", "capture_finger", "fingers_unusable"),
         ("fingers_unusable", "approve_face_only", "capture_face")],
        [("identify_finger", "capture_finger", "fingers_unusable"),
         ("fingers_unusable", "approve_face_only", "identify_face")],
        # liveness on: the check comes between the fingers (or the face-only approval) and the face
        [("capture_finger", "capture_finger", "check_liveness"), ("check_liveness", "check_liveness", "capture_face")],
        [("identify_finger", "capture_finger", "check_liveness"), ("check_liveness", "check_liveness", "identify_face")],
        [("fingers_unusable", "approve_face_only", "check_liveness"),
         ("check_liveness", "check_liveness", "liveness_failed"),
         ("liveness_failed", "approve_liveness", "capture_face")],
        [("liveness_failed", "approve_liveness", "identify_face")],
    ]
    for walk in walks:
        for state, action, to in walk:
            assert require_transition(state, action, to) == to


def test_a_confirmed_vote_can_only_end_the_session():
    assert TRANSITIONS[(State.AWAITING_CONFIRMATION, Action.CONFIRM)] == {State.VOTED, State.ALREADY_VOTED}


def test_a_transition_the_table_does_not_list_is_a_typed_error():
    with pytest.raises(wf.IllegalTransition) as illegal:
        require_transition("capture_finger", "capture_finger", "voted")   # skipping face and ink
    assert (illegal.value.state, illegal.value.action, illegal.value.to) == \
        ("capture_finger", "capture_finger", "voted")
    assert (illegal.value.code, illegal.value.status) == ("illegal_transition", 500)
    assert isinstance(illegal.value, wf.WorkflowError) and not isinstance(illegal.value, wf.InvalidStep)
    with pytest.raises(wf.IllegalTransition):
        require_transition("check_ink", "check_ink", "voted")             # ink checked, vote not confirmed
    with pytest.raises(wf.InvalidStep):
        require_transition("voted", "cancel", "cancelled")                # the action itself is refused


def test_refused_step_names_what_to_do_next():
    with pytest.raises(wf.InvalidStep, match="cannot confirm in state check_ink; next: check_ink"):
        require_step("check_ink", "confirm")


def test_next_action_names_an_action_the_state_allows():
    spoken = {"supervisor_approval": {Action.APPROVE_FACE_ONLY, Action.APPROVE_INK_ON_RECORD,
                                      Action.APPROVE_LIVENESS}}
    for state, next_action in wf.NEXT_ACTION.items():
        assert spoken.get(next_action, {next_action}) & allowed_actions(state)


def test_states_serialise_as_their_names():
    import json

    assert json.dumps({"state": State.CHECK_INK}) == '{"state": "check_ink"}'
    assert wf.CHECK_INK == "check_ink" and f"{wf.CHECK_INK}" == "check_ink"


def test_only_the_transition_helper_assigns_a_session_state():
    """A step cannot go around the table: the package assigns ``session.state`` in exactly one place."""
    assignments = []
    for path in Path(wf.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            targets = node.targets if isinstance(node, ast.Assign) else \
                [node.target] if isinstance(node, (ast.AugAssign, ast.AnnAssign)) else []
            for target in targets:
                for leaf in (target.elts if isinstance(target, ast.Tuple) else [target]):
                    if isinstance(leaf, ast.Attribute) and ast.unparse(leaf) == "session.state":
                        assignments.append(f"{path.name}:{node.lineno}")
    assert len(assignments) == 1 and assignments[0].startswith("core.py:")


def test_every_state_is_reachable_and_every_session_can_end():
    reachable, frontier = {State.WAITING_FOR_CARD}, [State.WAITING_FOR_CARD]
    while frontier:
        state = frontier.pop()
        for action in allowed_actions(state):
            for to in TRANSITIONS[(state, action)] - reachable:
                reachable.add(to)
                frontier.append(to)
    assert reachable == set(State)
    ends_without_cancel = set(wf.TERMINAL)
    grew = True
    while grew:   # states from which some non-cancel step leads to a state that can end
        before = len(ends_without_cancel)
        ends_without_cancel |= {state for (state, action), targets in TRANSITIONS.items()
                                if action != Action.CANCEL and targets & ends_without_cancel}
        grew = len(ends_without_cancel) > before
    assert ends_without_cancel == set(State)


def test_a_failed_liveness_check_can_only_wait_for_a_supervisor_or_be_cancelled():
    assert TRANSITIONS[(State.LIVENESS_FAILED, Action.APPROVE_LIVENESS)] == {State.CAPTURE_FACE, State.IDENTIFY_FACE}
    with pytest.raises(wf.IllegalTransition):
        require_transition("check_liveness", "check_liveness", "check_ink")   # the face was never compared
    with pytest.raises(wf.InvalidStep):
        require_step("liveness_failed", "capture_face")                         # no way round the supervisor
