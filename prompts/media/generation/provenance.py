"""C2PA Content Credentials: who made the file, and whether an AI generated it.

ChatGPT, Gemini, Firefly, Bing Image Creator and others sign a C2PA manifest into their files
(PNG `caBX` chunk, JPEG APP11 JUMBF boxes, WebP `C2PA` chunk). We read it with the C2PA
project's own library (c2pa-python) — only when a manifest box is present, with every network
fetch (remote manifests, OCSP) turned off — and keep the claim generator, the software agent
of the creating action and the IPTC digital source type.

Public copies must not carry the manifest: it can name accounts and tools the person did not
choose to share, and our rewrite of the file breaks its hash binding anyway.
"""

from __future__ import annotations

import io
import logging
import struct

from prompts.media.generation import containers
from prompts.media.generation import text as t

logger = logging.getLogger(__name__)

MIME = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}
AI_SOURCE_TYPES = {"trainedAlgorithmicMedia", "compositeWithTrainedAlgorithmicMedia", "algorithmicMedia"}
_context = None


def _reader_context():
    """One C2PA context for the process: no remote manifests, no OCSP look-ups (uploads are untrusted)."""
    global _context
    if _context is None:
        import c2pa

        settings = c2pa.Settings.from_dict({"verify": {"remote_manifest_fetch": False, "ocsp_fetch": False}})
        _context = c2pa.Context(settings=settings)
    return _context


def read(data: bytes, carrier: containers.Carrier) -> dict:
    """{made_with, claim_generator, software_agent, digital_source_type, ai_generated}, or {}."""
    if not carrier.c2pa or carrier.format not in MIME:
        return {}
    try:
        import c2pa

        reader = c2pa.Reader(MIME[carrier.format], io.BytesIO(data), context=_reader_context())
        try:
            store = t.load_json(reader.json()) or {}
            state = reader.get_validation_state() or ""
        finally:
            reader.close()
    except Exception as exc:  # noqa: BLE001 - a damaged or unsupported manifest is only a missing credit, never an upload error
        logger.info("C2PA manifest not readable: %s", exc)
        return {}
    summary = summarise(store)
    if summary:
        # "Valid" only says the file matches its own signature; anyone can sign, so it is kept, not trusted.
        summary["validation_state"] = t.value(state)
    return summary


def summarise(store: dict) -> dict:
    manifests = store.get("manifests") if isinstance(store.get("manifests"), dict) else {}
    active = manifests.get(store.get("active_manifest")) if isinstance(store.get("active_manifest"), str) else None
    if not isinstance(active, dict):
        return {}
    claim_generator = _claim_generator(active)
    agent, source_type = "", ""
    # The active manifest first, then its ingredients' (an AI image edited and re-signed elsewhere).
    for manifest in [active, *[m for m in manifests.values() if m is not active and isinstance(m, dict)]]:
        for action in _actions(manifest):
            kind = action.get("digitalSourceType")
            if isinstance(kind, str) and not source_type:
                source_type = kind.rsplit("/", 1)[-1]
            software = action.get("softwareAgent")
            software = software.get("name") if isinstance(software, dict) else software
            if isinstance(software, str) and not agent and action.get("action") in ("c2pa.created", "c2pa.opened"):
                agent = software
    claim_generator, agent = t.value(claim_generator), t.value(agent)
    made_with = claim_generator or agent
    if agent and claim_generator and agent.lower() not in claim_generator.lower():
        made_with = f"{claim_generator} ({agent})"
    if not made_with and not source_type:
        return {}
    return {
        "made_with": t.clean(made_with, t.MAX_VALUE),
        "claim_generator": claim_generator,
        "software_agent": agent,
        "digital_source_type": t.value(source_type),
        "ai_generated": source_type in AI_SOURCE_TYPES,
    }


def _claim_generator(manifest: dict) -> str:
    info = manifest.get("claim_generator_info")
    if isinstance(info, list) and info and isinstance(info[0], dict) and isinstance(info[0].get("name"), str):
        return info[0]["name"]
    generator = manifest.get("claim_generator")
    if isinstance(generator, str):  # v1 claims: 'ChatGPT c2pa-rs/0.31.1' — the product is the first word(s)
        return generator.split("/")[0].rsplit(" ", 1)[0] if "/" in generator else generator
    return ""


def _actions(manifest: dict) -> list[dict]:
    actions = []
    for assertion in manifest.get("assertions") or []:
        if isinstance(assertion, dict) and str(assertion.get("label", "")).startswith("c2pa.actions"):
            data = assertion.get("data")
            if isinstance(data, dict) and isinstance(data.get("actions"), list):
                actions += [a for a in data["actions"] if isinstance(a, dict)]
    return actions


def remove_provenance(data: bytes, fmt: str) -> bytes:
    """The file without C2PA/JUMBF boxes: PNG caBX chunks, JPEG APP11 segments, WebP C2PA chunks."""
    if fmt == "PNG" and data.startswith(containers.PNG_SIGNATURE):
        out, pos = bytearray(data[:8]), 8
        for kind, start, length in containers.png_chunks(data):
            end = start + length + 4
            if kind != b"caBX":
                out += data[start - 8 : end]
            pos = end
        return bytes(out) + (data[pos:] if pos < len(data) else b"")
    if fmt == "JPEG" and data[:2] == b"\xff\xd8":
        return _jpeg_without_app11(data)
    if fmt == "WEBP" and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        chunks = [
            data[start - 8 : start + length + (length & 1)]
            for kind, start, length in containers.webp_chunks(data)
            if kind != b"C2PA"
        ]
        body = b"WEBP" + b"".join(chunks)
        return b"RIFF" + struct.pack("<I", len(body)) + body
    return data


def _jpeg_without_app11(data: bytes) -> bytes:
    out, pos = bytearray(data[:2]), 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker in (0xDA, 0xD9):
            break
        length = struct.unpack(">H", data[pos + 2 : pos + 4])[0]
        if marker != 0xEB:
            out += data[pos : pos + 2 + length]
        pos += 2 + length
    return bytes(out + data[pos:])
