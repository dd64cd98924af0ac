"""Ed25519 signatures over an app bundle's files.

A bundle's ``SIGNATURE`` is a small JSON document: the SHA-256 of every other file of
the bundle, the id of the key that signed and an Ed25519 signature over the canonical
digest of that file list (each ``<sha256-hex> <path>\\n`` line, sorted by path, hashed
with SHA-256). Listing the hashes, not only signing their digest, lets a verifier name
the one file that changed. Keys are PEM files (PKCS#8 private, SubjectPublicKeyInfo
public); a key's id is the first 16 hex digits of the SHA-256 of its raw public bytes.

Examples
--------
>>> private_pem, public_pem = generate_keypair()
>>> key = load_private_key(private_pem)
>>> files = {"app.toml": hashlib.sha256(b"name = 'x'").hexdigest()}
>>> signature = sign_files(files, key)
>>> trusted = {key_id(load_public_key(public_pem)): load_public_key(public_pem)}
>>> verify_files(signature, trusted) == signature.key_id
True
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from feederos.errors import BundleError

__all__ = [
    "SIGNATURE_FILE",
    "Signature",
    "canonical_digest",
    "generate_keypair",
    "key_id",
    "load_private_key",
    "load_public_key",
    "load_trusted_keys",
    "sign_files",
    "verify_files",
    "write_keypair",
]

SIGNATURE_FILE = "SIGNATURE"
"""Name of the signature document at the root of a bundle."""

_ALGORITHM = "ed25519"


@dataclass(frozen=True, slots=True)
class Signature:
    """A bundle's signature document: file hashes, signer's key id, signature bytes."""

    files: Mapping[str, str]
    key_id: str
    signature: bytes

    def to_bytes(self) -> bytes:
        """The ``SIGNATURE`` file's content (JSON, sorted keys)."""
        document = {
            "algorithm": _ALGORITHM,
            "files": dict(sorted(self.files.items())),
            "key_id": self.key_id,
            "signature": base64.b64encode(self.signature).decode(),
        }
        return (json.dumps(document, indent=1, sort_keys=True) + "\n").encode()

    @classmethod
    def from_bytes(cls, data: bytes, *, source: str = SIGNATURE_FILE) -> Signature:
        """Parse a ``SIGNATURE`` file; raise :class:`BundleError` naming ``source``."""
        try:
            document = json.loads(data)
            if document.get("algorithm") != _ALGORITHM:
                raise ValueError(f"algorithm must be {_ALGORITHM!r}")
            files = document["files"]
            if not isinstance(files, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in files.items()
            ):
                raise ValueError("files must map paths to SHA-256 hex digests")
            return cls(
                files=files,
                key_id=str(document["key_id"]),
                signature=base64.b64decode(document["signature"], validate=True),
            )
        except (ValueError, KeyError, TypeError, AttributeError, binascii.Error) as exc:
            raise BundleError(f"{source}: malformed signature document: {exc}") from None


def canonical_digest(files: Mapping[str, str]) -> bytes:
    """SHA-256 over ``<sha256-hex> <path>\\n`` lines sorted by path: what is signed."""
    lines = "".join(f"{files[path]} {path}\n" for path in sorted(files))
    return hashlib.sha256(lines.encode()).digest()


def key_id(public_key: Ed25519PublicKey) -> str:
    """A public key's short id: 16 hex digits of the SHA-256 of its raw bytes."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def generate_keypair() -> tuple[bytes, bytes]:
    """A new Ed25519 key pair as (private PEM, public PEM)."""
    private = Ed25519PrivateKey.generate()
    private_pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private_pem, public_pem


def write_keypair(private_path: Path, *, overwrite: bool = False) -> Path:
    """Write a new key pair to ``private_path`` (mode 0600) and ``<stem>.pub.pem``.

    Returns the public key's path. Refuses to overwrite an existing key unless asked.
    """
    private_path = Path(private_path)
    public_path = private_path.with_name(private_path.stem + ".pub.pem")
    for path in (private_path, public_path):
        if path.exists() and not overwrite:
            raise BundleError(f"{path}: already exists; choose another name or pass overwrite")
    private_pem, public_pem = generate_keypair()
    private_path.parent.mkdir(parents=True, exist_ok=True)
    private_path.touch(mode=0o600)
    private_path.chmod(0o600)
    private_path.write_bytes(private_pem)
    public_path.write_bytes(public_pem)
    return public_path


def load_private_key(source: bytes | Path) -> Ed25519PrivateKey:
    """An Ed25519 private key from PEM bytes or a PEM file."""
    name, data = _read(source)
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise BundleError(f"{name}: not an unencrypted PEM private key: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise BundleError(f"{name}: not an Ed25519 key; make one with `fos app keygen`")
    return key


def load_public_key(source: bytes | Path) -> Ed25519PublicKey:
    """An Ed25519 public key from PEM bytes or a PEM file."""
    name, data = _read(source)
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise BundleError(f"{name}: not a PEM public key: {exc}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise BundleError(f"{name}: not an Ed25519 public key; make one with `fos app keygen`")
    return key


def load_trusted_keys(folder: Path) -> dict[str, Ed25519PublicKey]:
    """Every ``*.pem`` public key in ``folder`` by key id (none if the folder is missing)."""
    folder = Path(folder)
    if not folder.is_dir():
        return {}
    keys = (load_public_key(path) for path in sorted(folder.glob("*.pem")))
    return {key_id(k): k for k in keys}


def sign_files(files: Mapping[str, str], key: Ed25519PrivateKey) -> Signature:
    """Sign the file hashes ``files`` (path → SHA-256 hex) with ``key``."""
    return Signature(
        files=dict(files),
        key_id=key_id(key.public_key()),
        signature=key.sign(canonical_digest(files)),
    )


def verify_files(
    signature: Signature,
    trusted: Mapping[str, Ed25519PublicKey],
    *,
    source: str = SIGNATURE_FILE,
) -> str:
    """Check ``signature`` against the trusted keys; return the signer's key id.

    Only the listed hashes are checked here; the caller compares them to the files.
    """
    public_key = trusted.get(signature.key_id)
    if public_key is None:
        raise BundleError(
            f"{source}: signed by key {signature.key_id}, which is not trusted: add its "
            "public key (.pem) to the runtime's trusted_keys/ folder"
        )
    try:
        public_key.verify(signature.signature, canonical_digest(signature.files))
    except InvalidSignature:
        raise BundleError(
            f"{source}: signature does not match the file list: the bundle was altered "
            "after signing; sign it again with `fos app sign`"
        ) from None
    return signature.key_id


def _read(source: bytes | Path) -> tuple[str, bytes]:
    if isinstance(source, bytes):
        return "key", source
    try:
        return str(source), Path(source).read_bytes()
    except OSError as exc:
        raise BundleError(f"{source}: cannot read key: {exc.strerror}") from None
