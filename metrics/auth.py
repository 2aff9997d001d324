"""Who may do what: roles, scopes, and password hashing.

The permission table lives here, in the core, so the dashboard, the CLI and any future API
refuse the same things. The UI may hide what a role cannot use, but hiding is a courtesy;
`require` is the rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from metrics.errors import PermissionDenied, ValidationError

if TYPE_CHECKING:
    from argon2 import PasswordHasher

# planner: the city's planners (Bappeda) who keep the masterplan and quick-win programme register
ROLES = ("admin", "executive", "opd", "assessor", "viewer", "planner")
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
MAX_USERNAME = 64  # the longest name USERNAME_RE admits
MIN_PASSWORD = 8
MAX_PASSWORD = 128
MAX_DISPLAY_NAME = 100
MAX_SCOPE_CODE = 32  # a city or OPD code on an account

# OWASP's argon2id floor: 19 MiB of memory, two passes, one lane.
ARGON2_MEMORY_KIB = 19 * 1024
ARGON2_TIME = 2
ARGON2_PARALLELISM = 1


class Action(StrEnum):
    READ_SCORES = "read_scores"
    READ_SUBMISSIONS = "read_submissions"
    UPLOAD = "upload"
    TEMPLATE = "template"
    VERIFY = "verify"
    PERIOD = "period"  # open / close a year
    LOCK = "lock"  # finalise a year
    MANAGE_USERS = "manage_users"
    MANAGE_REGISTRY = "manage_registry"
    LOAD_FRAMEWORK = "load_framework"
    READ_AUDIT = "read_audit"
    EXPORT = "export"
    BACKUP = "backup"
    SETTINGS = "settings"  # publish results to the public, and other instance-wide settings
    MANAGE_PROGRAMMES = "manage_programmes"  # load or edit a city's programme register
    UPDATE_PROGRAMME = "update_programme"  # record a programme's status in a year (an OPD: its own)
    IMPORT_SURVEY = "import_survey"  # import the citizen impact survey's results
    SCHEDULE_INTERVIEW = "schedule_interview"  # plan the assessors' interview sessions with OPDs
    PLAN = "plan"  # read the path to a target (the task list per OPD) of a city
    SET_EFFORT = "set_effort"  # enter the effort of raising an indicator (an OPD: its own indicators)


# role -> actions; scope (city / OPD) is checked separately in `require`.
PERMISSIONS: dict[str, frozenset[Action]] = {
    "admin": frozenset(Action),
    "executive": frozenset({Action.READ_SCORES, Action.READ_SUBMISSIONS, Action.EXPORT, Action.PLAN}),
    "opd": frozenset(
        {
            Action.READ_SCORES,
            Action.READ_SUBMISSIONS,
            Action.UPLOAD,
            Action.TEMPLATE,
            Action.UPDATE_PROGRAMME,
            Action.PLAN,
            Action.SET_EFFORT,
        }
    ),
    "assessor": frozenset(
        {Action.READ_SCORES, Action.READ_SUBMISSIONS, Action.VERIFY, Action.EXPORT, Action.SCHEDULE_INTERVIEW}
    ),
    "viewer": frozenset({Action.READ_SCORES}),
    "planner": frozenset(
        {
            Action.READ_SCORES,
            Action.READ_SUBMISSIONS,
            Action.EXPORT,
            Action.MANAGE_PROGRAMMES,
            Action.UPDATE_PROGRAMME,
            Action.IMPORT_SURVEY,
            Action.PLAN,
            Action.SET_EFFORT,
        }
    ),
    "anonymous": frozenset(),  # READ_SCORES only when the admin makes results public
}


@dataclass(frozen=True)
class User:
    username: str
    role: str
    city_code: str | None = None  # None: every city (national scope)
    opd_code: str | None = None
    active: bool = True
    display_name: str = ""

    @property
    def is_anonymous(self) -> bool:
        return self.role == "anonymous"


ANONYMOUS = User("anonymous", "anonymous")
SYSTEM = User("system", "admin")  # the operator at the server's shell (CLI without --user)


def can(
    user: User, action: Action, city: str | None = None, opd: str | None = None, public_read: bool = False
) -> bool:
    if not user.active:
        return False
    allowed = PERMISSIONS.get(user.role, frozenset())
    if action not in allowed and not (action == Action.READ_SCORES and public_read):
        return False
    if action == Action.READ_SCORES:
        return True  # published scores are not per-OPD secrets; drafts and submissions are
    if user.city_code is not None and city is not None and city != user.city_code:
        return False
    if user.role == "opd":
        if city is None or city != user.city_code:
            return False
        if opd is None or opd != user.opd_code:
            return False
    return True


def require(
    user: User, action: Action, city: str | None = None, opd: str | None = None, public_read: bool = False
) -> None:
    if not can(user, action, city, opd, public_read):
        scope = ""
        if city:
            scope = f" ({city}{'/' + opd if opd else ''})"
        raise PermissionDenied("perm.denied", role=user.role, action=action.value, scope=scope)


def allowed_actions(user: User, city: str | None = None, opd: str | None = None) -> set[Action]:
    return {a for a in Action if can(user, a, city, opd)}


# ---------------------------------------------------------------------------------- passwords

# The demo database's one password, printed by `init --demo` and in README: known to the world,
# so accepted only in a database that `metrics.demo.install` marked as a demo.
DEMO_PASSWORD = "Demo#KotaCerdas2024"
DEMO_SETTING = "demo_database"  # store setting, "true" in a demo database

# Lines of the password lists that start with this are comments (no listed password does).
_COMMENT = "# "
# What a local word may be followed by and still be refused: "kotacerdas2024!", "sukamaju#1".
_TRAILING = re.compile(r"[\W\d_]+$")


@lru_cache(maxsize=1)
def _hasher() -> PasswordHasher:
    from argon2 import PasswordHasher, Type

    return PasswordHasher(
        time_cost=ARGON2_TIME, memory_cost=ARGON2_MEMORY_KIB, parallelism=ARGON2_PARALLELISM, type=Type.ID
    )


def _read_list(name: str) -> frozenset[str]:
    path = Path(__file__).with_name(name)
    return frozenset(
        line.strip().lower()
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith(_COMMENT) and line.strip() != "#"
    )


@lru_cache(maxsize=1)
def local_passwords() -> frozenset[str]:
    """The product's own names (cities of the demo, OPDs, "kota cerdas"...) and Indonesian
    common passwords: refused as they are and followed by digits or punctuation."""
    return frozenset(w.replace(" ", "") for w in _read_list("local_passwords.txt"))


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """Every listed password in lower case: the maintained list (common_passwords.txt, see its
    header for the source and licence) and the local one."""
    return _read_list("common_passwords.txt") | local_passwords()


def is_common(password: str) -> bool:
    low = password.lower()
    if low in common_passwords():
        return True
    # the product's own words are what an attacker of this product tries first, with a year or "!"
    return _TRAILING.sub("", "".join(low.split())) in local_passwords()


def check_password_policy(password: str, *, demo_database: bool = False) -> None:
    """Refuse a new password that is too short, too long, common, or the published demo password
    (allowed only in a demo database)."""
    if len(password) < MIN_PASSWORD:
        raise ValidationError("user.password_short", n=MIN_PASSWORD)
    if len(password) > MAX_PASSWORD:
        raise ValidationError("user.password_long", n=MAX_PASSWORD)
    if password.lower() == DEMO_PASSWORD.lower() and not demo_database:
        raise ValidationError("user.password_demo")
    if is_common(password):
        raise ValidationError("user.password_common")


def hash_password(password: str, *, demo_database: bool = False) -> str:
    check_password_policy(password, demo_database=demo_database)
    return _hasher().hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

    try:
        return _hasher().verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """True when `stored_hash` was made with other argon2 parameters than today's: after a
    successful sign-in the password is hashed again (users.login), so raising the parameters
    above reaches every account that signs in."""
    from argon2.exceptions import InvalidHashError

    try:
        return _hasher().check_needs_rehash(stored_hash)
    except InvalidHashError:
        return False


def rehash_password(password: str) -> str:
    """A hash of an already accepted password with today's parameters. No policy check: the
    password was set under the rules of its day, and signing in must not fail over it."""
    return _hasher().hash(password)


def hash_parameters(stored_hash: str) -> str:
    """The cost part of an argon2 hash ("m=19456,t=2,p=1"), for the audit log; never the salt or hash."""
    parts = stored_hash.split("$")
    return parts[3] if len(parts) > 3 and parts[3].startswith("m=") else "?"


# Hashing a dummy password when the user does not exist keeps login time the same either way,
# so response time does not reveal which usernames exist.
@lru_cache(maxsize=1)
def dummy_hash() -> str:
    return _hasher().hash("dummy-password-for-timing")


def validate_new_user(
    username: str, role: str, city: str | None, opd: str | None, display_name: str | None = None
) -> None:
    if not USERNAME_RE.fullmatch(username or ""):
        raise ValidationError("user.bad_name")
    # every field is bounded before it is stored or written to the audit log
    for field, value, limit in (
        ("display_name", display_name, MAX_DISPLAY_NAME),
        ("city", city, MAX_SCOPE_CODE),
        ("opd", opd, MAX_SCOPE_CODE),
    ):
        if value is not None and len(value) > limit:
            raise ValidationError("user.field_long", field=field, n=limit)
    if role not in ROLES:
        raise ValidationError("user.bad_role", role=role)
    if role == "opd" and (not city or not opd):
        raise ValidationError("user.opd_needs_scope")
