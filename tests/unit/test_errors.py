from abi.errors import AbiError, NotFound, RateLimited


def test_error_serialises_code_and_message() -> None:
    err = NotFound("plugin 'x' does not exist", code="plugin.not_found")
    assert err.status == 404
    assert err.to_dict() == {"code": "plugin.not_found", "message": "plugin 'x' does not exist"}


def test_custom_code_does_not_leak_to_class() -> None:
    NotFound("a", code="custom.code")
    assert NotFound("b").code == "not_found"


def test_details_are_included() -> None:
    err = RateLimited("slow down", retry_after=2.5)
    assert err.retry_after == 2.5
    assert err.to_dict()["details"] == {"retry_after": 2.5}


def test_base_error_is_internal() -> None:
    assert AbiError("x").status == 500
