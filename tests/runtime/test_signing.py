"""Ed25519 signing of file lists: round trip, foreign keys, altered lists, key files."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from feederos.errors import BundleError
from feederos.runtime.signing import (
    Signature,
    canonical_digest,
    key_id,
    load_private_key,
    load_public_key,
    load_trusted_keys,
    sign_files,
    verify_files,
    write_keypair,
)

FILES = {"app.toml": hashlib.sha256(b"a").hexdigest(), "echo.py": hashlib.sha256(b"b").hexdigest()}


def test_canonical_digest_ignores_order_but_not_content() -> None:
    assert canonical_digest(FILES) == canonical_digest(dict(reversed(list(FILES.items()))))
    assert canonical_digest(FILES) != canonical_digest({**FILES, "echo.py": "0" * 64})
    assert canonical_digest(FILES) != canonical_digest({"app.toml": FILES["app.toml"]})


def test_keygen_sign_verify(tmp_path: Path) -> None:
    public_path = write_keypair(tmp_path / "dev.key.pem")
    assert public_path.name == "dev.key.pub.pem"
    assert (tmp_path / "dev.key.pem").stat().st_mode & 0o777 == 0o600
    with pytest.raises(BundleError, match="already exists"):
        write_keypair(tmp_path / "dev.key.pem")
    key = load_private_key(tmp_path / "dev.key.pem")
    signature = Signature.from_bytes(sign_files(FILES, key).to_bytes())
    (tmp_path / "trusted").mkdir()
    (tmp_path / "trusted" / "dev.pem").write_bytes(public_path.read_bytes())
    trusted = load_trusted_keys(tmp_path / "trusted")
    assert verify_files(signature, trusted) == key_id(load_public_key(public_path))

    altered = Signature({**FILES, "echo.py": "0" * 64}, signature.key_id, signature.signature)
    with pytest.raises(BundleError, match="altered after signing"):
        verify_files(altered, trusted)
    with pytest.raises(BundleError, match="not trusted"):
        verify_files(signature, {})


def test_bad_key_files_and_signature_documents(tmp_path: Path) -> None:
    (tmp_path / "junk.pem").write_text("not a key")
    with pytest.raises(BundleError, match=r"junk\.pem: not an unencrypted PEM private key"):
        load_private_key(tmp_path / "junk.pem")
    with pytest.raises(BundleError, match=r"junk\.pem: not a PEM public key"):
        load_trusted_keys(tmp_path)
    with pytest.raises(BundleError, match="cannot read key"):
        load_private_key(tmp_path / "missing.pem")
    with pytest.raises(BundleError, match="SIGNATURE: malformed signature document"):
        Signature.from_bytes(b'{"algorithm": "rsa"}')
    assert load_trusted_keys(tmp_path / "absent") == {}
