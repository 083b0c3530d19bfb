"""The challenge type's input handling, on CTFd's own classes (no running CTFd needed)."""

import pytest

from CTFd.exceptions.challenges import ChallengeCreateException

from ctfdeck_plugin_under_test import challenge_type


def test_numbers_without_a_function_mean_dynamic_scoring():
    data = challenge_type.normalise(
        {"ctfdeck_challenge": " web-robots ", "value": 500, "decay": 10, "minimum": 100},
        creating=True,
    )
    assert data["function"] == "logarithmic"
    assert data["ctfdeck_challenge"] == "web-robots"


def test_a_plain_value_stays_static():
    data = challenge_type.normalise({"ctfdeck_challenge": "x", "value": 100}, creating=True)
    assert "function" not in data


@pytest.mark.parametrize("given, meant", [("true", True), ("on", True), ("false", False), (True, True), ("", False)])
def test_stop_on_solve_from_forms_and_json(given, meant):
    data = challenge_type.normalise({"ctfdeck_challenge": "x", "ctfdeck_stop_on_solve": given}, creating=True)
    assert data["ctfdeck_stop_on_solve"] is meant


def test_the_ctfdeck_challenge_is_required():
    with pytest.raises(ChallengeCreateException, match="ctfdeck_challenge"):
        challenge_type.normalise({"name": "x"}, creating=True)


def test_the_type_is_named_ctfdeck_with_its_assets():
    t = challenge_type.CtfdeckChallengeType
    assert t.id == "ctfdeck"
    assert t.templates["view"] == "/plugins/ctfdeck/assets/view.html"
