"""Name and label syntax, with apimachinery's exact error texts.

    dns1123_subdomain_errors("Bad_Name") -> ["a lowercase RFC 1123 subdomain must consist of ..."]
    qualified_name_errors("example.com/app") -> []
"""

import re

DNS1123_LABEL = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS1123_SUBDOMAIN = DNS1123_LABEL + r"(\." + DNS1123_LABEL + ")*"
DNS1035_LABEL = "[a-z]([-a-z0-9]*[a-z0-9])?"
QUALIFIED_NAME = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
LABEL_VALUE = "(" + QUALIFIED_NAME + ")?"

_LABEL_RE = re.compile(f"^{DNS1123_LABEL}$")
_SUBDOMAIN_RE = re.compile(f"^{DNS1123_SUBDOMAIN}$")
_DNS1035_RE = re.compile(f"^{DNS1035_LABEL}$")
_QUALIFIED_RE = re.compile(f"^{QUALIFIED_NAME}$")
_VALUE_RE = re.compile(f"^{LABEL_VALUE}$")
_CIDENTIFIER_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ENV_NAME_RE = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
_CONFIG_KEY_RE = re.compile(r"^[-._a-zA-Z0-9]+$")

LABEL_MAX = 63
SUBDOMAIN_MAX = 253


def _max_len(n: int) -> str:
    return f"must be no more than {n} characters"


def dns1123_label_errors(value: str) -> list[str]:
    errors = []
    if len(value) > LABEL_MAX:
        errors.append(_max_len(LABEL_MAX))
    if not _LABEL_RE.match(value):
        errors.append(
            "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an "
            f"alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '{DNS1123_LABEL}')"
        )
    return errors


def dns1123_subdomain_errors(value: str) -> list[str]:
    errors = []
    if len(value) > SUBDOMAIN_MAX:
        errors.append(_max_len(SUBDOMAIN_MAX))
    if not _SUBDOMAIN_RE.match(value):
        errors.append(
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an "
            f"alphanumeric character (e.g. 'example.com', regex used for validation is '{DNS1123_SUBDOMAIN}')"
        )
    return errors


def dns1035_label_errors(value: str) -> list[str]:
    errors = []
    if len(value) > LABEL_MAX:
        errors.append(_max_len(LABEL_MAX))
    if not _DNS1035_RE.match(value):
        errors.append(
            "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an "
            f"alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '{DNS1035_LABEL}')"
        )
    return errors


def path_segment_errors(value: str) -> list[str]:
    if value in (".", ".."):
        return [f"may not be '{value}'"]
    for bad in ("/", "%"):
        if bad in value:
            return [f"may not contain '{bad}'"]
    return []


def qualified_name_errors(value: str) -> list[str]:
    """A label or annotation key: an optional DNS subdomain prefix and '/', then a name."""
    errors = []
    parts = value.split("/")
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errors.append("prefix part must be non-empty")
        else:
            errors.extend("prefix part " + e for e in dns1123_subdomain_errors(prefix))
    else:
        return [
            "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric "
            f"character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '{QUALIFIED_NAME}') with an optional "
            "DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        ]
    if not name:
        errors.append("name part must be non-empty")
    elif len(name) > LABEL_MAX:
        errors.append("name part " + _max_len(LABEL_MAX))
    if name and not _QUALIFIED_RE.match(name):
        errors.append(
            "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character "
            f"(e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '{QUALIFIED_NAME}')"
        )
    return errors


def label_value_errors(value: str) -> list[str]:
    errors = []
    if len(value) > LABEL_MAX:
        errors.append(_max_len(LABEL_MAX))
    if not _VALUE_RE.match(value):
        errors.append(
            "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
            f"alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '{LABEL_VALUE}')"
        )
    return errors


def is_label_value(value: str) -> bool:
    return not label_value_errors(value)


def env_var_name_errors(value: str) -> list[str]:
    if _ENV_NAME_RE.match(value):
        return []
    return ["a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit "
            "(e.g. 'my.env-name',  or 'MY_ENV.NAME',  or 'MyEnvName1', regex used for validation is '[-._a-zA-Z][-._a-zA-Z0-9]*')"]


def config_key_errors(value: str) -> list[str]:
    errors = []
    if len(value) > SUBDOMAIN_MAX:
        errors.append(_max_len(SUBDOMAIN_MAX))
    if not _CONFIG_KEY_RE.match(value):
        errors.append("a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or "
                      "'key-name', regex used for validation is '[-._a-zA-Z0-9]+')")
    return errors
