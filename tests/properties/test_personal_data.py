"""Properties of the personal-data rules (``residents/personal_data.py``): the ID-number
checksum (GB 11643, ISO 7064 MOD 11-2), masking, and the one phone rule.

Pure functions, no database: Hypothesis tries hundreds of numbers per property.
"""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError
from hypothesis import assume, given
from hypothesis import strategies as st

from residents.personal_data import (
    check_char,
    mask_id_number,
    mask_phone,
    normalize_id_number,
    parse_id_number,
    validate_phone,
)
from tests.properties.common import PROPERTIES
from tickets.apis import mask_phone as mask_reporter_phone

DIGITS = "0123456789"

regions = st.from_regex(r"[1-8][0-9]{5}", fullmatch=True)
births = st.dates(min_value=datetime.date(1900, 1, 1), max_value=datetime.date(2020, 12, 31))
sequences = st.integers(min_value=0, max_value=999)


@st.composite
def id_numbers(draw) -> tuple[str, datetime.date, str]:
    """A valid 18-character number with its birth date and gender."""
    region, birth, sequence = draw(regions), draw(births), draw(sequences)
    first17 = f"{region}{birth:%Y%m%d}{sequence:03d}"
    gender = "male" if sequence % 2 else "female"
    return first17 + check_char(first17), birth, gender


mobiles = st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True)
# Area codes: 010 and 020–029 have three digits, all others four (0xxx).
area_codes = st.one_of(
    st.sampled_from(["010", *(f"02{d}" for d in range(10))]),
    st.from_regex(r"0[3-9][0-9]{2}", fullmatch=True),
)
subscribers = st.from_regex(r"[2-9][0-9]{6,7}", fullmatch=True)
extensions = st.one_of(st.just(""), st.from_regex(r"-[0-9]{1,6}", fullmatch=True))


@st.composite
def landlines(draw) -> tuple[str, str, str, str]:
    """(number as typed, area code, subscriber number, extension)."""
    area, subscriber, extension = draw(area_codes), draw(subscribers), draw(extensions)
    dash = draw(st.sampled_from(["-", ""]))
    return f"{area}{dash}{subscriber}{extension}", area, subscriber, extension


# --- ID numbers -----------------------------------------------------------------------------


@PROPERTIES
@given(id_numbers())
def test_a_generated_number_validates_and_decodes(generated):
    number, birth, gender = generated
    card = parse_id_number(number)
    assert (card.number, card.birth_date, card.gender) == (number, birth, gender)


@PROPERTIES
@given(id_numbers(), st.data())
def test_any_single_character_change_breaks_the_checksum(generated, data):
    """MOD 11-2 with weights that are all non-zero modulo the prime 11: changing any one
    character changes the weighted sum by a non-multiple of 11."""
    number = generated[0]
    position = data.draw(st.integers(min_value=0, max_value=17), label="position")
    alphabet = DIGITS + "X" if position == 17 else DIGITS
    replacement = data.draw(st.sampled_from(alphabet.replace(number[position], "")))
    changed = number[:position] + replacement + number[position + 1 :]
    assert check_char(changed[:17]) != changed[17]
    with pytest.raises(ValidationError):
        parse_id_number(changed)


@PROPERTIES
@given(id_numbers(), st.integers(min_value=0, max_value=15))
def test_swapping_two_neighbouring_digits_breaks_the_checksum(generated, position):
    number = generated[0]
    assume(number[position] != number[position + 1])
    swapped = number[:position] + number[position + 1] + number[position] + number[position + 2 :]
    assert check_char(swapped[:17]) != swapped[17]


@PROPERTIES
@given(id_numbers(), st.sampled_from([" ", "  ", "\t"]))
def test_spaces_and_a_lower_case_x_are_the_same_number(generated, space):
    number = generated[0]
    typed = f"{space}{number[:6]} {number[6:14]} {number[14:].lower()}{space}"
    assert normalize_id_number(typed.replace("\t", " ")) == number


@PROPERTIES
@given(st.text(alphabet=DIGITS + "Xx -", max_size=24))
def test_anything_else_is_refused_with_a_message_never_a_crash(raw):
    try:
        card = parse_id_number(raw)
    except ValidationError as exc:
        messages = exc.messages
    else:
        assert card.number == normalize_id_number(raw)
        assert check_char(card.number[:17]) == card.number[17]
        return
    assert messages


def full_width(text: str) -> str:
    """``138`` → ``１３８``: what a Chinese input method in full-width mode types."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


@PROPERTIES
@given(id_numbers())
def test_a_number_typed_in_full_width_is_the_same_number(generated):
    number = generated[0]
    assert parse_id_number(full_width(number)).number == number


# Zero in other scripts: full-width (what an input method types), Arabic-Indic, Devanagari.
OTHER_ZEROS = (0xFF10, 0x0660, 0x0966)


@PROPERTIES
@given(id_numbers(), st.sampled_from(OTHER_ZEROS), st.sets(st.integers(0, 16), min_size=1))
def test_only_ascii_digits_are_ever_stored(generated, zero, positions):
    """Other scripts' digits match ``\\d`` and ``int()`` reads them, but the uniqueness
    hash sees another number: accepted as typed, one person could be registered twice.
    A number is stored in ASCII digits or refused."""
    number = generated[0]
    typed = "".join(chr(zero + int(c)) if i in positions else c for i, c in enumerate(number))
    try:
        card = parse_id_number(typed)
    except ValidationError:
        return
    assert card.number == number


# --- masking ----------------------------------------------------------------------------------


@PROPERTIES
@given(id_numbers())
def test_a_masked_id_number_shows_the_first_four_and_the_last_four_only(generated):
    number = generated[0]
    masked = mask_id_number(number)
    assert len(masked) == len(number)
    assert masked[:4] == number[:4]
    assert masked[-4:] == number[-4:]
    assert masked[4:-4] == "*" * 10  # the birth date and most of the region are hidden


@PROPERTIES
@given(mobiles, st.sampled_from(["", "+86", "0086", "+86-"]), st.sampled_from(["", " "]))
def test_a_mobile_number_is_normalised_validated_and_masked(mobile, prefix, space):
    typed = f"{prefix}{mobile[:3]}{space}{mobile[3:7]}{space}{mobile[7:]}"
    phone = validate_phone(typed)
    assert phone == mobile
    assert validate_phone(full_width(typed)) == mobile
    assert validate_phone(phone) == phone  # idempotent
    assert mask_phone(phone) == mobile[:3] + "****" + mobile[-4:]


@PROPERTIES
@given(landlines())
def test_a_landline_shows_its_area_code_and_last_two_characters_only(line):
    """Whether or not a dash follows it, a three-digit area code (010, 02x) is not taken
    for four digits: the subscriber number's first digit stays hidden."""
    typed, area, _subscriber, _extension = line
    phone = validate_phone(typed)
    masked = mask_phone(phone)
    assert len(masked) == len(phone)
    head = area + ("-" if phone[len(area) :].startswith("-") else "")
    assert masked.startswith(head)
    assert masked.endswith(phone[-2:])
    assert set(masked[len(head) : -2]) <= {"*"}


@PROPERTIES
@given(st.one_of(mobiles, landlines().map(lambda line: line[0])))
def test_a_reporter_phone_never_shows_more_than_seven_characters(phone):
    masked = mask_reporter_phone(phone)
    assert len(masked) == len(phone)
    shown = [i for i, c in enumerate(masked) if c != "*"]
    assert len(shown) <= 7
    assert all(masked[i] == phone[i] for i in shown)


@PROPERTIES
@given(st.text(alphabet=st.characters(categories=["Nd", "Pd", "Zs"]) | st.just("+"), max_size=20))
def test_a_phone_is_valid_only_as_a_mobile_or_a_landline_in_ascii(raw):
    try:
        phone = validate_phone(raw)
    except ValidationError:
        return
    assert set(phone) <= set(DIGITS + "-")
    assert validate_phone(phone) == phone
