"""Roles, scopes and delegation rules."""

from __future__ import annotations

import pytest

from abi.errors import Forbidden, InvalidInput
from abi.security import ALL_SCOPES, Principal, Role
from abi.security.clients import check_delegation, grantable_scopes
from abi.security.principal import parse_scopes


def test_only_platform_admins_hold_admin() -> None:
    assert "admin" in Role.PLATFORM_ADMIN.scopes
    assert all("admin" not in role.scopes for role in Role if role is not Role.PLATFORM_ADMIN)


def test_roles_are_nested() -> None:
    assert Role.READER.scopes < Role.DEVELOPER.scopes < Role.TENANT_ADMIN.scopes < ALL_SCOPES


def test_readers_only_read() -> None:
    assert all(scope.endswith(":read") for scope in Role.READER.scopes)


def test_developers_cannot_manage_credentials_or_read_audit() -> None:
    assert not {"clients:write", "clients:read", "audit:read"} & Role.DEVELOPER.scopes


def test_unknown_scopes_are_named_in_the_error() -> None:
    with pytest.raises(InvalidInput, match="vectors:delete"):
        parse_scopes("vectors:read vectors:delete")


def test_unknown_role_lists_the_valid_ones() -> None:
    with pytest.raises(InvalidInput, match="tenant_admin"):
        Role.parse("owner")


def test_grantable_defaults_to_the_roles_scopes() -> None:
    assert grantable_scopes(Role.READER, None) == Role.READER.scopes


def test_grantable_refuses_scopes_outside_the_role() -> None:
    with pytest.raises(InvalidInput) as exc:
        grantable_scopes(Role.READER, "vectors:write")
    assert exc.value.code == "security.scope_not_in_role"


def test_grantable_refuses_an_empty_set() -> None:
    with pytest.raises(InvalidInput):
        grantable_scopes(Role.READER, "")


def test_delegation_cannot_exceed_the_granters_scopes() -> None:
    with pytest.raises(Forbidden):
        check_delegation(frozenset({"vectors:read"}), Role.DEVELOPER, frozenset({"vectors:write"}))


def test_delegation_of_platform_admin_needs_admin() -> None:
    with pytest.raises(Forbidden):
        check_delegation(Role.TENANT_ADMIN.scopes, Role.PLATFORM_ADMIN, frozenset({"tenants:read"}))


def test_platform_admins_act_on_any_tenant_others_only_on_their_own() -> None:
    admin = Principal("t_a", "c", frozenset({"admin"}), Role.PLATFORM_ADMIN)
    member = Principal("t_a", "c", Role.TENANT_ADMIN.scopes, Role.TENANT_ADMIN)
    assert admin.can_act_on("t_b")
    assert member.can_act_on("t_a")
    assert not member.can_act_on("t_b")
