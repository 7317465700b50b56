-- Value patterns of the privacy guard (docs/contract.md section 3), matched per distinct value.
--
-- Input:  guard_values(col INTEGER, v VARCHAR, n BIGINT, t BOOLEAN, raw VARCHAR): each distinct
--         value v of column col (already NFKC-normalised, zero-width characters removed), the
--         number of rows n holding it and the value as read, raw (NULL for a header cell or the
--         file name); t is true for the contract's text fields (label, geo, slugs), where any full
--         date, any 5-digit run and any leading house number is counted as well. Numeric and
--         date columns contribute only the values that fail their type.
-- Placeholders: __given_names__, __surnames__, __titles__ (pipelines.guard.person_names).
-- Output: per value, col, raw, n and one boolean per rule: whether the value matches it. The
--         guard keeps this in a temp table, counts rows per col and rule from it and finds the
--         rows that hold a matched value; only counts and row positions leave the guard.
--
-- Patterns are RE2 (no look-around). Boundaries are written as (^|[^...]) ... ([^...]|$) so that
-- a pattern does not fire inside a longer run of digits or hex characters.
WITH flags AS (
    SELECT
        col,
        raw,
        n,
        -- ZIP codes: 5 digits or ZIP+4, standing alone (not inside a longer number, decimal or token)
        regexp_matches(v, '(^|[^0-9A-Za-z.,\-])[0-9]{5}(-[0-9]{4})?([^0-9A-Za-z.,]|$)') AS zip5,
        -- e-mail, also written with [at] / (at) and [dot] / (dot), spelled out ("ann at example
        -- dot com", "ann_at_example_dot_com"), or with the @ percent- or entity-encoded
        regexp_matches(
            v,
            '(?i)([a-z0-9._%+\-]+\s*(@|\[at\]|\(at\)|\{at\}|%40|&#0*64;|&#x0*40;|&commat;)\s*[a-z0-9\-]+(\s*(\.|\[dot\]|\(dot\))\s*[a-z0-9\-]+)*\s*(\.|\[dot\]|\(dot\))\s*[a-z]{2,}|(^|[^a-z])[a-z0-9.]+[\s_\-]+at[\s_\-]+[a-z0-9\-]+([\s_\-]+dot[\s_\-]+[a-z0-9\-]+)*[\s_\-]+dot[\s_\-]+[a-z]{2,}|(^|[^a-z])[a-z0-9.]+[\s_\-]+at[\s_\-]+[a-z0-9\-]+\.(com|org|net|edu|gov|us|io|co|info|biz|me)([^a-z]|$))'
        ) AS email,
        -- phone: North American (formatted or a bare run of 10/11 digits), 7-digit local with a
        -- dash, E.164 / international with a leading +, national numbers with a trunk 0
        -- (020 7946 0958), 2-digit groups
        regexp_matches(v, '(?:(^|[^0-9])(\+?1[\s.\-]?)?(\([0-9]{3}\)|[0-9]{3})[\s.\-]?[0-9]{3}[\s.\-]?[0-9]{4}([^0-9]|$))|(?:(^|[^0-9.\-])[0-9]{3}-[0-9]{4}([^0-9\-]|$))|(?:(^|[^0-9a-zA-Z])\+[1-9]([\s.\-()]{0,2}[0-9]){7,14}([^0-9]|$))|(?:(^|[^0-9.\-])\(?0[0-9]{2,4}\)?[\s\-][0-9]{3,4}[\s\-]?[0-9]{3,4}([^0-9.\-]|$))|(?:(^|[^0-9])[0-9]{2}([\s.\-][0-9]{2}){4}([^0-9]|$))')
            -- or 10 to 11 digits in one chain, whatever separates them ("6 1 7 5 5 5 0 1 4 2")
            OR len(list_filter(
                regexp_extract_all(v, '[0-9]+([\s.\-/,()]{1,2}[0-9]+)+'),
                lambda c: length(regexp_replace(c, '[^0-9]', '', 'g')) BETWEEN 10 AND 11
            )) > 0 AS phone,
        -- social security number: dashed, dotted or spaced 3-2-4, or a bare run of exactly 9 digits
        regexp_matches(v, '(?:(^|[^0-9])[0-9]{3}([\-\s.])[0-9]{2}([\-\s.])[0-9]{4}([^0-9]|$))|(?:(^|[^0-9A-Za-z.,])[0-9]{9}([^0-9A-Za-z.,]|$))') AS ssn,
        -- IPv4 (dotted quad) and IPv6 (eight groups, or compressed with ::)
        regexp_matches(v, '(?:(^|[^0-9.])((25[0-5]|2[0-4][0-9]|[01]?[0-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|[01]?[0-9]?[0-9])([^0-9]|\.?$|\.[^0-9]))|(?i:(^|[^0-9a-z:])(([0-9a-f]{1,4}:){7}[0-9a-f]{1,4}|([0-9a-f]{1,4}:){1,6}(:[0-9a-f]{1,4}){1,6}|([0-9a-f]{1,4}:){1,7}:|:(:[0-9a-f]{1,4}){1,7})([^0-9a-z:]|$))') AS ip_address,
        -- URL: any scheme://, www., a domain with a path, and tel:/mailto:/sip:/sms: links
        regexp_matches(
            v,
            '(?i)([a-z][a-z0-9+.\-]{1,15}://\S|(^|[^a-z0-9@.\-])www\.[a-z0-9\-]+\.[a-z]{2,}|(^|[^a-z0-9@.\-_])[a-z0-9\-]+(\.[a-z0-9\-]+)*\.[a-z]{2,12}/[a-z0-9_\-]|(^|[^a-z])(tel|mailto|sip|sms|callto):\s*\S)'
        ) AS url,
        -- advertising click ids: a parameter name with a value, or the value shapes of Google
        -- (gclid Cj0K..., EAIa..., gbraid/wbraid 0AAAAA...), Meta (fbclid IwAR..., IwY2...) and
        -- TikTok (ttclid E.C.P....)
        regexp_matches(v, '(?i:(^|[^a-z0-9])(gclid|gbraid|wbraid|gclsrc|dclid|fbclid|msclkid|ttclid|twclid|yclid|li_fat_id|epik|rdt_cid|irclickid|scclid|_gl)\s*[=:]\s*\S)|(?:(^|[^A-Za-z0-9_\-])(Cj0K|CjwK|Cj4K|CjkK|CjgK|CjsK|CjQK|CjMK|EAIaIQ|0AAAAA|IwAR|IwZX|IwY2|IwAA|IwAB|E\.C\.P\.)[A-Za-z0-9_\-.]{16,})') AS click_id,
        -- device and cookie ids: UUID / IDFA / GAID, 16-hex Android ids, Google Analytics client ids
        regexp_matches(v, '(?i:(^|[^0-9a-z])[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}([^0-9a-z]|$))|(?i:(^|[^0-9a-z])[0-9a-f]{16}([^0-9a-z]|$))|(?i:(^|[^0-9.])(ga[0-9]\.[0-9]\.)?[0-9]{6,10}\.[0-9]{10}([^0-9]|$))') AS device_id,
        -- MAC addresses: six hex pairs with : or -, or Cisco dotted triples
        regexp_matches(v, '(?i:(^|[^0-9a-f:\-])[0-9a-f]{2}([:\-][0-9a-f]{2}){5}([^0-9a-f:\-]|$))|(?i:(^|[^0-9a-f.])[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}([^0-9a-f.]|$))') AS mac_address,
        -- hashed identifiers (hashed e-mails and phones): MD5, SHA-1, SHA-256 in hex, SHA-256 in base64
        regexp_matches(v, '(?i:(^|[^0-9a-z])([0-9a-f]{64}|[0-9a-f]{40}|[0-9a-f]{32})([^0-9a-z]|$))|(?:(^|[^A-Za-z0-9+/])[A-Za-z0-9+/]{43}=)') AS hashed_id,
        -- Medicare: MBI (11 characters, dashes optional) and the older HICN (SSN + letter suffix)
        regexp_matches(v, '(?i:(^|[^0-9a-z])[1-9][ac-hjkmnp-rt-y][ac-hjkmnp-rt-y0-9][0-9]-?[ac-hjkmnp-rt-y][ac-hjkmnp-rt-y0-9][0-9]-?[ac-hjkmnp-rt-y]{2}[0-9]{2}([^0-9a-z]|$))|(?:(^|[^0-9A-Za-z])[0-9]{3}-?[0-9]{2}-?[0-9]{4}-?[A-Z][0-9A-Z]?([^0-9A-Za-z]|$))') AS medicare_id,
        -- payment card numbers: 13 to 19 digits (spaces or dashes allowed) passing the Luhn check
        regexp_extract(v, '(^|[^0-9])([0-9]([ \-]?[0-9]){12,18})([^0-9]|$)', 2) AS card_candidate,
        -- dates of birth: a DOB / born / birth keyword followed by a number, or a full date with
        -- a year from 1900 to 2014 (weekly marketing data is recent; such dates are birth dates)
        regexp_matches(v, '(?i:(^|[^a-z])(dob|d\.o\.b|born|birth)[^0-9]{0,15}[0-9])|(?:(^|[^0-9])(19[0-9]{2}|200[0-9]|201[0-4])[\-/.](0?[1-9]|1[0-2])[\-/.](0?[1-9]|[12][0-9]|3[01])([^0-9]|$))|(?:(^|[^0-9.])(0?[1-9]|[12][0-9]|3[01])[\-/.](0?[1-9]|[12][0-9]|3[01])[\-/.](19[0-9]{2}|200[0-9]|201[0-4]|[3-9][0-9])([^0-9.]|$))|(?i:(^|[^a-z])(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]{0,6}\.?[\s\-/]+[0-9]{1,2}(st|nd|rd|th)?,?[\s\-/]+(19[0-9]{2}|200[0-9]|201[0-4])([^0-9]|$))|(?i:(^|[^0-9])[0-9]{1,2}(st|nd|rd|th)?[\s\-/]+(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]{0,6}\.?,?[\s\-/]+(19[0-9]{2}|200[0-9]|201[0-4])([^0-9]|$))') AS date_of_birth,
        -- street addresses: a house number, one to four words and a street suffix; PO boxes;
        -- apartment and suite numbers
        regexp_matches(v, '(?i:(^|[^0-9a-z])[0-9]{1,6}[a-z]?\s+([a-z0-9.''\-]+\s+){1,4}(street|st|avenue|ave|av|road|rd|boulevard|blvd|lane|ln|drive|dr|court|ct|place|pl|way|terrace|ter|circle|cir|highway|hwy|parkway|pkwy|square|sq|trail|trl|plaza|plz|alley|aly|crescent|row|pike|loop)\.?([^a-z]|$))|(?i:(^|[^a-z])p\.?\s*o\.?\s*box\s*#?\s*[0-9]+)|(?i:(^|[^a-z])(apt|apartment|suite|ste)\.?\s*#?\s*[0-9]+[a-z]?([^a-z0-9]|$))') AS street_address,
        -- a person's name: a common given name next to a common surname, either order, or a
        -- title before a capitalised name
        regexp_matches(v, '(?i:(^|[^a-z])(__given_names__)[\s_.,\-]+([a-z][\s_.\-]+)?(__surnames__)([^a-z]|$))|(?i:(^|[^a-z])(__surnames__)[\s_]*[,\s_][\s_]*(__given_names__)([^a-z]|$))|(?:(^|[^A-Za-z])(?i:__titles__)\.?\s+[A-Z][a-z]+)') AS person_name,
        -- medical record, account, member and patient numbers: the word, then a number
        regexp_matches(v, '(?i:(^|[^a-z])(mrn|med[\s_.\-]*rec(ord)?|medical[\s_.\-]*record|chart|acct|account|patient|pt|member|mbr|record|rec|case|claim|encounter|visit)[\s_.\-#:]*(no|nr|num|number|id)?[\s_.\-#:]*[0-9]([\s\-]?[0-9]){3,})') AS mrn,
        -- an age over 89 (Safe Harbor identifier): "age 93", "93 y/o", "93-year-old"
        regexp_matches(v, '(?i:(^|[^a-z])(age|aged|ages)[\s_:\-]*(9[0-9]|1[0-2][0-9])([^0-9]|$))|(?i:(^|[^0-9])(9[0-9]|1[0-2][0-9])[\s_\-]*(y/?o|yo|(yrs?|years?)[\s_\-]*old)([^a-z]|$))') AS age_over_89,
        -- encoded text: percent escapes, HTML entities, base64 or similar tokens mixing cases
        -- and digits, long hex strings (hex-encoded text)
        regexp_matches(v, '%[0-9A-Fa-f]{2}|&#?[A-Za-z0-9]{2,8};')
            OR len(list_filter(
                regexp_extract_all(v, '[0-9A-Fa-f]{18,}'),
                lambda tok: regexp_matches(tok, '[0-9]') AND regexp_matches(tok, '[A-Fa-f]')
            )) > 0
            OR len(list_filter(
                regexp_extract_all(v, '[A-Za-z0-9+/]{16,}={0,2}|[A-Za-z0-9+/]{8,}={1,2}'),
                lambda tok: regexp_matches(tok, '[A-Z]') AND regexp_matches(tok, '[a-z]')
                    AND regexp_matches(tok, '[0-9]')
            )) > 0 AS encoded_text,
        -- text fields: any full date (compact 19610317, ISO, m/d/y, "Mar 17 '61", any year:
        -- a child's birth date is recent), any 5-digit run, a leading house number
        t AND regexp_matches(v, '(?:(^|[^0-9])(1[89][0-9]{2}|20[0-9]{2})[\-/.\s]?(0[1-9]|1[0-2])[\-/.\s]?(0[1-9]|[12][0-9]|3[01])([^0-9]|$))|(?:(^|[^0-9])(0?[1-9]|1[0-2])[\-/.](0?[1-9]|[12][0-9]|3[01])[\-/.]([0-9]{2}|[0-9]{4})([^0-9]|$))|(?i:(^|[^a-z])(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]{0,6}\.?[\s\-/]+[0-9]{1,2}(st|nd|rd|th)?,?[\s\-/]+''?[0-9]{2,4}([^0-9]|$))|(?i:(^|[^0-9])[0-9]{1,2}(st|nd|rd|th)?[\s\-/]+(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]{0,6}\.?,?[\s\-/]+''?[0-9]{2,4}([^0-9]|$))') AS text_date,
        t AND regexp_matches(v, '(^|[^0-9])[0-9]{5}(-[0-9]{4})?([^0-9]|$)') AS text_zip5,
        t AND regexp_matches(v, '(?i)^\s*[0-9]{1,6}[a-z]?[\s,]+([nsew]\.?\s+)?[a-z]{2,}') AS text_street,
    FROM guard_values
),
cards AS (
    SELECT
        *,
        reverse(regexp_replace(card_candidate, '[^0-9]', '', 'g')) AS card_digits
    FROM flags
)
SELECT
    col,
    raw,
    n,
    zip5 OR text_zip5 AS zip5,
    email,
    phone,
    ssn,
    ip_address,
    url,
    click_id,
    device_id,
    mac_address,
    hashed_id,
    medicare_id,
    card_digits <> ''
        AND list_sum(list_transform(
            range(length(card_digits)),
            lambda i: CASE
                WHEN i % 2 = 0 THEN ascii(card_digits[i + 1]) - 48
                WHEN ascii(card_digits[i + 1]) - 48 >= 5 THEN 2 * (ascii(card_digits[i + 1]) - 48) - 9
                ELSE 2 * (ascii(card_digits[i + 1]) - 48)
            END
        )) % 10 = 0 AS card_number,
    date_of_birth OR text_date AS date_of_birth,
    street_address OR text_street AS street_address,
    person_name,
    mrn,
    age_over_89,
    encoded_text
FROM cards
