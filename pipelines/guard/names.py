"""Column names: identifier-like headers and header rows that are really data.

Identifier-like means the column holds something about one person or one event: names, contact
details, addresses, dates of birth, account and device ids, click ids, recordings, and also event
ids and event timestamps (one row per call or visit; under HIPAA Safe Harbor the date and time of
an individual's event is itself an identifier).

A header is compared after NFKC normalisation, lower-casing, splitting camelCase and turning every
run of non-alphanumeric characters into ``_`` (``Caller Phone #`` -> ``caller_phone``).
"""

from __future__ import annotations

import re

from pipelines.feeds import FEEDS
from pipelines.guard.normalise import normalise_text


def _words(text: str) -> list[str]:
    return text.split()


# Whole tokens (between underscores) that name an individual or an individual's identifier.
_TOKENS = frozenset(
    _words(
        """
    name names fname lname first last middle surname given maiden nickname initials
    phone phones tel telephone mobile cell cellphone fax msisdn ani dnis cid callerid
    email emails mail
    address addr street apt suite city_state zip zipcode zip5 zip9 postal postcode
    dob birth birthday birthdate bday age gender sex race ethnicity
    ssn sin social_security mrn ehr emr chart patient patients member members subscriber
    beneficiary insured guarantor mbi hicn medicare medicaid insurance policy
    caller callers contact contacts person people user username userid uid login customer
    client_id clientid visitor visitorid session sessionid
    ip ipv4 ipv6 ipaddress useragent user_agent ua
    device deviceid idfa idfv gaid aaid adid maid imei udid mac cookie cookies fingerprint
    gclid gbraid wbraid gclsrc dclid fbclid fbp fbc msclkid ttclid twclid yclid li_fat_id
    recording recordings recording_url audio voicemail transcript transcription
    lat latitude lon lng longitude geolocation gps
    license passport account_number acct
    id ids uuid guid callid call_id leadid lead_id
    time timestamp datetime ts created_at updated_at called_at answered_at
    """
    )
)

# Substrings that mark an identifier wherever they appear (camelCase or glued names).
_FRAGMENTS = (
    "firstname",
    "lastname",
    "fullname",
    "callername",
    "patientname",
    "phonenumber",
    "phone",
    "email",
    "emailaddress",
    "address",
    "zipcode",
    "postalcode",
    "postcode",
    "birth",
    "caller",
    "patient",
    "recording",
    "transcript",
    "gclid",
    "fbclid",
    "msclkid",
    "ttclid",
    "gbraid",
    "wbraid",
    "cookie",
    "device",
    "ipaddress",
    "useragent",
    "socialsecurity",
    "medicare",
    "medicaid",
    "member",
    "subscriber",
)

# "<word>_name" is a label, not a person's name, after these words.
_NAME_OK_AFTER = frozenset(
    _words(
        """
    campaign channel source medium market ad adgroup ad_group adset keyword geo test creative
    placement account page event metric dma state city region location clinic provider
    practice hospital service department specialty site file host domain brand product plan
    feed column table network publisher platform vendor partner program line
    """
    )
)


def canonical(name: str) -> str:
    """NFKC, camelCase split, lower case, runs of other characters as ``_``."""
    text = normalise_text(name)
    text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", text)
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


_CONTRACT_NAMES = sorted(
    {c.name for feed in FEEDS.values() for c in feed.columns}, key=len, reverse=True
)


def is_identifier_name(name: str) -> bool:
    """True when a column name looks like it holds an individual's identifier.

    Contract column names inside the name (``new_patient_calls`` in a mis-delimited header) and
    aggregate phrases (``new_patients``) do not count.
    """
    canon = f"_{canonical(name)}_"
    for contract in _CONTRACT_NAMES:
        canon = canon.replace(f"_{contract}_", "_")
    canon = canon.strip("_")
    if not canon:
        return False
    tokens = canon.split("_")
    for i, token in enumerate(tokens):
        if token in ("name", "names", "id", "ids") and i > 0 and tokens[i - 1] in _NAME_OK_AFTER:
            continue
        if token in ("patient", "patients") and i > 0 and tokens[i - 1] == "new":
            continue
        if token in _TOKENS:
            return True
    glued = "".join(
        t
        for i, t in enumerate(tokens)
        if not (t.startswith("patient") and i > 0 and tokens[i - 1] == "new")
    )
    if glued.endswith("name") and len(glued) > 4:
        stem = glued[: -len("name")]
        if not any(stem.endswith(word.replace("_", "")) for word in _NAME_OK_AFTER):
            return True
    joined = "_".join(tokens)
    if any(f"_{t}_" in f"_{joined}_" for t in _TOKENS if "_" in t):
        return True
    return any(fragment in glued for fragment in _FRAGMENTS)


_DATA_LIKE = re.compile(r"[-+0-9.,:/ ]*[0-9][-+0-9.,:/ ]*")


def looks_like_data(name: str) -> bool:
    """True when a header cell is a number, a date or a time (the file has no header row)."""
    return bool(_DATA_LIKE.fullmatch(normalise_text(name).strip()))
