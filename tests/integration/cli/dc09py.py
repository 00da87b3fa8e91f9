"""dc09py — an independent, minimal SIA DC-09 toolkit in Python for testing
the `vigil` binary from the outside: CRC-16/ARC, framing, AES-CBC (Cryptodome),
timestamps. Written from docs/DC09.md, not from lib/dc09, so that agreement
between the two means something. Test use only: it must never be shipped."""
import calendar
import re
import time

from Cryptodome.Cipher import AES

HEAD_RE = re.compile(
    r'^"(?P<star>\*?)(?P<id>SIA-DCS|ADM-CID|NULL|ACK|NAK|DUH)"(?P<seq>\d{4})'
    r'(?:R(?P<rcv>[0-9A-F]{1,6}))?L(?P<line>[0-9A-F]{0,6})(?:#|A)(?P<acct>[0-9A-F]{1,16})\[')


def crc16_arc(data: bytes) -> int:
    crc = 0
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


assert crc16_arc(b"123456789") == 0xBB3D


def wrap(body: str) -> str:
    """CRC + length + body (no LF/CR), as DC-09 puts them on the wire."""
    raw = body.encode("latin-1")
    return "%04X%04X%s" % (crc16_arc(raw), len(raw), body)


def check_wrapped(frame: str) -> str:
    """Checks CRC and length of 'CRCLLLLbody'; returns the body."""
    crc, length, body = frame[:4], frame[4:8], frame[8:]
    raw = body.encode("latin-1")
    assert int(length, 16) == len(raw), (frame, len(raw))
    assert int(crc, 16) == crc16_arc(raw), (frame, "%04X" % crc16_arc(raw))
    return body


def dc09_time(t: int) -> str:
    return time.strftime("_%H:%M:%S,%m-%d-%Y", time.gmtime(t))


def iso(ts_field: str) -> str:
    """'22:40:48,04-11-2021' (vectors' ts=) -> '2021-04-11T22:40:48Z'."""
    hms, mdy = ts_field.split(",")
    m, d, y = mdy.split("-")
    return "%s-%s-%sT%sZ" % (y, m, d, hms)


def iso_to_unix(s: str) -> int:
    return calendar.timegm(time.strptime(s, "%Y-%m-%dT%H:%M:%SZ"))


def aes_cbc(key: bytes, data: bytes, decrypt: bool) -> bytes:
    c = AES.new(key, AES.MODE_CBC, iv=bytes(16))
    return c.decrypt(data) if decrypt else c.encrypt(data)


def encrypt_region(key: bytes, region: str, pad_byte: str = "x") -> str:
    """pad | region, padded to whole blocks (>= 8 pad bytes), as uppercase hex."""
    raw = region.encode("latin-1")
    pad = 16 - (len(raw) + 1) % 16
    if pad < 8:
        pad += 16
    plain = (pad_byte * pad).encode() + b"|" + raw
    assert len(plain) % 16 == 0
    return aes_cbc(key, plain, False).hex().upper()
