"""API tokens: the dev credentials on disk, the token table's checks and lookups, the roles and
when auth is on (the HTTP behaviour is tested on each service)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from nser_shared.errors import ConfigurationError
from nser_shared.http.auth import TokenFile, access_table
from nser_shared.security.tokens import (
    TOKEN_VALIDITY,
    TOKENS_FILE,
    Role,
    TokenTable,
    digest,
    read_token,
    token_file_name,
    write_dev_tokens,
)


def test_dev_tokens_clients_get_plaintext_0600_and_the_server_only_digests(tmp_path: Path) -> None:
    tokens = write_dev_tokens(tmp_path / "creds")
    assert set(tokens) == {Role.READER, Role.OPERATOR}
    assert tokens[Role.READER] != tokens[Role.OPERATOR]
    assert all(len(t) >= 43 for t in tokens.values())  # token_urlsafe(32): 256 random bits
    for role, token in tokens.items():
        path = tmp_path / "creds" / token_file_name(role)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert read_token(path) == token
    server_side = (tmp_path / "creds" / TOKENS_FILE).read_text()
    assert not any(token in server_side for token in tokens.values())
    entries = json.loads(server_side)
    assert {(e["role"], e["sha256"]) for e in entries} == {
        (role.value, digest(token)) for role, token in tokens.items()
    }


def test_writing_again_makes_new_tokens_and_keeps_the_files_private(tmp_path: Path) -> None:
    first = write_dev_tokens(tmp_path)
    (tmp_path / "reader.token").chmod(0o644)
    second = write_dev_tokens(tmp_path)
    assert first[Role.READER] != second[Role.READER]
    assert stat.S_IMODE((tmp_path / "reader.token").stat().st_mode) == 0o600
    table = TokenTable.load(tmp_path / TOKENS_FILE)
    assert table.lookup(first[Role.READER]) is None


def test_lookup_finds_the_holder_and_nothing_for_other_strings(tmp_path: Path) -> None:
    tokens = write_dev_tokens(tmp_path)
    table = TokenTable.load(tmp_path / TOKENS_FILE)
    entry = table.lookup(tokens[Role.OPERATOR])
    assert entry is not None
    assert entry.role is Role.OPERATOR
    assert entry.name.startswith("dev-operator-")
    for wrong in ("", "x", tokens[Role.OPERATOR][:-1], tokens[Role.OPERATOR] + "x",
                  digest(tokens[Role.OPERATOR])):  # fmt: skip
        assert table.lookup(wrong) is None
    assert tokens[Role.OPERATOR] not in repr(entry)
    assert entry.sha256 not in repr(entry)


def test_operator_implies_reader_and_not_the_other_way() -> None:
    assert Role.OPERATOR.grants(Role.READER)
    assert Role.OPERATOR.grants(Role.OPERATOR)
    assert Role.READER.grants(Role.READER)
    assert not Role.READER.grants(Role.OPERATOR)


GOOD = {"name": "ops", "role": "operator", "sha256": "a" * 64}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{", "not JSON"),
        ("[]", "non-empty JSON list"),
        ('{"name": "ops"}', "non-empty JSON list"),
        (json.dumps([{**GOOD, "extra": 1}]), "name, role and sha256, and optionally expires"),
        (json.dumps([{**GOOD, "expires": "tomorrow"}]), "not an ISO 8601 time with a time zone"),
        (json.dumps([{**GOOD, "expires": "2027-01-05T06:00:00"}]), "with a time zone"),
        (json.dumps([{**GOOD, "name": " "}]), "name must be a non-empty string"),
        (json.dumps([{**GOOD, "role": "admin"}]), "role 'admin' is not one of reader, operator"),
        (json.dumps([{**GOOD, "sha256": "A" * 64}]), "64 lowercase hex digits"),
        (json.dumps([{**GOOD, "sha256": "a" * 63}]), "64 lowercase hex digits"),
        (json.dumps([GOOD, {**GOOD, "sha256": "b" * 64}]), "name 'ops' appears twice"),
    ],
)
def test_a_bad_tokens_file_is_refused_naming_the_fault(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / TOKENS_FILE
    path.write_text(content)
    with pytest.raises(ConfigurationError, match=message) as raised:
        TokenTable.load(path)
    assert str(path) in str(raised.value)


def test_a_missing_tokens_file_points_at_nser_credentials(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"does not exist.*nser credentials"):
        TokenTable.load(tmp_path / "nope.json")


def test_no_tokens_file_needs_insecure(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"NSER_NWDAF_TOKENS_FILE.*nser credentials"):
        access_table("", insecure=False, service="nwdaf")
    assert access_table("", insecure=True, service="nwdaf") is None
    write_dev_tokens(tmp_path)
    tokens = access_table(str(tmp_path / TOKENS_FILE), insecure=True, service="nwdaf")
    assert tokens is not None
    assert len(tokens.table().entries) == 2


def test_tokens_expire_after_their_validity(tmp_path: Path) -> None:
    now = 1_800_000_000.0
    tokens = write_dev_tokens(tmp_path, now=now)
    entry = TokenTable.load(tmp_path / TOKENS_FILE).lookup(tokens[Role.READER])
    assert entry is not None
    assert entry.expires_at == now + TOKEN_VALIDITY.total_seconds()
    assert not entry.expired(now + TOKEN_VALIDITY.total_seconds() - 1)
    assert entry.expired(now + TOKEN_VALIDITY.total_seconds())
    assert TokenTable.from_json(TokenTable.load(tmp_path / TOKENS_FILE).to_json(), "x").entries[
        0
    ].expires_at == pytest.approx(entry.expires_at)


def test_rotation_keeps_the_old_tokens_for_the_grace_only(tmp_path: Path) -> None:
    now = 1_800_000_000.0
    old = write_dev_tokens(tmp_path, now=now)
    new = write_dev_tokens(tmp_path, rotate_after_s=3600, now=now + 60)
    table = TokenTable.load(tmp_path / TOKENS_FILE)
    assert len(table.entries) == 4
    kept, fresh = table.lookup(old[Role.OPERATOR]), table.lookup(new[Role.OPERATOR])
    assert kept is not None
    assert fresh is not None
    assert kept.expires_at == now + 60 + 3600
    assert fresh.expires_at == now + 60 + TOKEN_VALIDITY.total_seconds()
    assert (tmp_path / "operator.token").read_text().strip() == new[Role.OPERATOR]
    # A second rotation drops the tokens already expired by then.
    write_dev_tokens(tmp_path, rotate_after_s=3600, now=now + 2 * 3600)
    assert len(TokenTable.load(tmp_path / TOKENS_FILE).entries) == 4
    # Rotations within one second still name every token apart.
    write_dev_tokens(tmp_path, rotate_after_s=3600, now=now + 2 * 3600)
    assert len(TokenTable.load(tmp_path / TOKENS_FILE).entries) == 6


def test_the_token_file_is_read_again_when_it_changes(tmp_path: Path) -> None:
    first = write_dev_tokens(tmp_path)
    tokens = TokenFile(tmp_path / TOKENS_FILE, check_every_s=0.0)
    assert tokens.table().lookup(first[Role.READER]) is not None
    second = write_dev_tokens(tmp_path)
    assert tokens.table().lookup(second[Role.READER]) is not None
    assert tokens.table().lookup(first[Role.READER]) is None
    (tmp_path / TOKENS_FILE).write_text("{ half written")
    assert tokens.table().lookup(second[Role.READER]) is not None  # the last good table
