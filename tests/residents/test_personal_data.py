"""The pure rules: ID numbers (GB 11643), phones, masking, encryption at rest."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from governance import pii
from residents.personal_data import (
    check_char,
    mask_id_number,
    mask_phone,
    parse_id_number,
    validate_phone,
)
from tests.residents.factories import id_number

# A published specimen: 11010519491231002X, born 1949-12-31, female.
SPECIMEN = "11010519491231002X"


def test_specimen_decodes():
    card = parse_id_number(SPECIMEN.lower())
    assert card.number == SPECIMEN
    assert card.birth_date == datetime.date(1949, 12, 31)
    assert card.gender == "female"


def test_generated_numbers_round_trip():
    for birth, gender in [
        (datetime.date(2001, 2, 28), "male"),
        (datetime.date(1960, 1, 1), "female"),
    ]:
        card = parse_id_number(id_number(birth, gender))
        assert (card.birth_date, card.gender) == (birth, gender)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("11010519491231002", "17 digits"),
        ("1101051949123100AX", "17 digits"),
        ("110105194912310021", "check character"),
        ("110105194902300024", "birth date"),  # 30 February
        ("110105299912310025", "birth date"),  # born in the future
    ],
)
def test_bad_numbers_say_why(raw, reason):
    if reason == "birth date":  # give the impossible date a valid checksum, so only it fails
        raw = raw[:17] + check_char(raw[:17])
    with translation.override("en"), pytest.raises(ValidationError) as exc:
        parse_id_number(raw)
    expected = {
        "17 digits": "17 digits",
        "check character": "check character",
        "birth date": "birth date",
    }[reason]
    assert expected in str(exc.value)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("138 1234 5678", "13812345678"),
        ("+8613812345678", "13812345678"),
        ("0971-8123456", "0971-8123456"),
        ("010-62345678-123", "010-62345678-123"),
    ],
)
def test_valid_phones(raw, clean):
    assert validate_phone(raw) == clean


@pytest.mark.parametrize("raw", ["12812345678", "1381234567", "8123456", "abc", "0971-12"])
def test_invalid_phones(raw):
    with pytest.raises(ValidationError):
        validate_phone(raw)


def test_masks():
    assert mask_id_number("610102199001011234") == "6101**********1234"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("0971-8123456") == "0971-*****56"
    assert mask_id_number("") == mask_phone("") == ""


def test_encryption_hides_the_number_and_hash_is_stable(settings):
    token = pii.encrypt(SPECIMEN)
    assert SPECIMEN not in token
    assert pii.encrypt(SPECIMEN) != token  # random IV: equal numbers look different
    assert pii.decrypt(token) == SPECIMEN
    assert pii.lookup_hash(SPECIMEN) == pii.lookup_hash(SPECIMEN.lower())
    assert SPECIMEN not in pii.lookup_hash(SPECIMEN)


def test_key_rotation_keeps_old_values_readable_and_hashes_stable(settings):
    from cryptography.fernet import Fernet

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.PII_KEYS = [old]
    token, digest = pii.encrypt(SPECIMEN), pii.lookup_hash(SPECIMEN)
    settings.PII_KEYS = [new, old]
    assert pii.decrypt(token) == SPECIMEN
    assert pii.lookup_hash(SPECIMEN) == digest
