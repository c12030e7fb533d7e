"""C2PA-signed test images, made at test time with c2pa-python and a throwaway certificate chain.

The chain (a test CA and an ES256 signing certificate with the e-mail protection usage the C2PA
trust profile accepts) is made fresh per process; nothing is trusted and nothing leaves the machine.
"""

from __future__ import annotations

import datetime
import functools
import io
import json

from PIL import Image

IPTC_AI = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
MIME = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}


@functools.cache
def _signer_material() -> tuple[bytes, bytes]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    def name(common_name: str) -> x509.Name:
        return x509.Name(
            [
                x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "PromptFinder tests"),
            ]
        )

    now = datetime.datetime.now(datetime.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(name("Test CA"))
        .issuer_name(name("Test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=7))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    leaf = (
        x509.CertificateBuilder()
        .subject_name(name("Test signer"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=7))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    chain = leaf.public_bytes(serialization.Encoding.PEM) + ca.public_bytes(serialization.Encoding.PEM)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return chain, private


def signed_image(
    fmt: str,
    *,
    claim_generator: str,
    software_agent: str = "",
    source_type: str = IPTC_AI,
    image: bytes | None = None,
    size=(96, 64),
) -> bytes:
    """An image of `fmt` with a C2PA manifest: claim generator, and a c2pa.created action (agent, source type)."""
    import c2pa

    if image is None:
        buffer = io.BytesIO()
        Image.new("RGB", size, (200, 120, 40)).save(buffer, format=fmt)
        image = buffer.getvalue()
    action = {"action": "c2pa.created", "digitalSourceType": source_type}
    if software_agent:
        action["softwareAgent"] = {"name": software_agent}
    manifest = {
        "claim_generator_info": [{"name": claim_generator, "version": "1.0"}],
        "title": f"image.{fmt.lower()}",
        "assertions": [{"label": "c2pa.actions", "data": {"actions": [action]}}],
    }
    chain, private = _signer_material()
    signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(b"es256", chain, private, None))
    out = io.BytesIO()
    c2pa.Builder(json.dumps(manifest)).sign(signer, MIME[fmt], io.BytesIO(image), out)
    return out.getvalue()


def manifest_in(data: bytes, fmt: str) -> dict | None:
    """The active manifest c2pa-python finds in `data`, or None."""
    import c2pa

    reader = c2pa.Reader.try_create(MIME[fmt], io.BytesIO(data))
    if reader is None:
        return None
    try:
        return reader.get_active_manifest()
    finally:
        reader.close()
