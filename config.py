"""Settings. Every value can be overridden from the environment."""
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent


def _flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name, "1" if default else "0")
    return value.strip().lower() in ("1", "true", "yes", "on")


class Config:
    # Signs the session cookies. Without one, `create_app` makes a random key once and keeps it
    # in instance/secret_key; gunicorn refuses to start without one (`secret_key_problem`).
    SECRET_KEY = os.environ.get("SECRET_KEY") or None
    SQLALCHEMY_DATABASE_URI = os.environ.get(
        "DATABASE_URL", f"sqlite:///{BASE_DIR / 'instance' / 'butlerdesk.sqlite3'}"
    )
    # The property's time zone: times are stored in UTC and shown in this zone;
    # month boundaries of the assessment are local.
    TIMEZONE = os.environ.get("TIMEZONE", "Asia/Shanghai")
    RULES_FILE = os.environ.get("RULES_FILE", str(BASE_DIR / "workflows" / "rules.toml"))
    # How long an API token and a page login stay valid (unless revoked or logged out first).
    TOKEN_TTL_DAYS = int(os.environ.get("TOKEN_TTL_DAYS", "30"))
    SESSION_TTL_HOURS = int(os.environ.get("SESSION_TTL_HOURS", str(14 * 24)))
    # The session cookie: never sent cross-site; only over HTTPS where it is served over HTTPS.
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _flag("SESSION_COOKIE_SECURE")
    # Behind a reverse proxy: how many proxies' X-Forwarded-For/-Proto to trust (0: none), so
    # that the rate limits count the person's address, not the proxy's.
    PROXY_COUNT = int(os.environ.get("PROXY_COUNT", "0"))
    # Logins (the page and POST /api/v1/tokens share them): tries per address, and failed
    # tries per username; past either, 429 with Retry-After until the window ends.
    LOGIN_LIMIT_PER_ADDRESS = os.environ.get("LOGIN_LIMIT_PER_ADDRESS", "30 per minute")
    LOGIN_LIMIT_PER_USERNAME = os.environ.get("LOGIN_LIMIT_PER_USERNAME", "10 per 15 minutes")
    # Activating with a unit's invitation code (the page and POST /api/v1/activations share
    # them): tries per address, and failed tries per unit named, so that codes cannot be
    # guessed, from one address or from many.
    ACTIVATION_LIMIT_PER_ADDRESS = os.environ.get("ACTIVATION_LIMIT_PER_ADDRESS", "20 per hour")
    ACTIVATION_LIMIT_PER_UNIT = os.environ.get("ACTIVATION_LIMIT_PER_UNIT", "10 per hour")
    # Where the limits count: `database` (default: every worker and server shares the counts)
    # or any storage of the `limits` library, e.g. redis://host:6379 or memory:// (one process).
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "database://")
    RATELIMIT_HEADERS_ENABLED = True
    BABEL_DEFAULT_LOCALE = os.environ.get("BABEL_DEFAULT_LOCALE", "zh_CN")
    # Compiled catalogs (`pybabel compile -d translations`, run by the Makefile's setup).
    BABEL_TRANSLATION_DIRECTORIES = str(BASE_DIR / "translations")
    WTF_CSRF_TIME_LIMIT = None  # a butler's form may stay open for a whole shift
    API_PAGE_SIZE = 50
    # A JSON request body: at most this many bytes, nested at most this deep.
    MAX_JSON_BYTES = int(os.environ.get("MAX_JSON_BYTES", str(1024 * 1024)))
    MAX_JSON_DEPTH = 16
    # /healthz turns unhealthy when no sweep finished for this long (a sweeper runs every 5 s).
    SWEEP_STALE_SECONDS = float(os.environ.get("SWEEP_STALE_SECONDS", "60"))

    # Notices (docs/notices.md). The address a notice's link starts with.
    BASE_URL = os.environ.get("BASE_URL", "http://127.0.0.1:5000")
    # Email over SMTP; without MAIL_SERVER notices go to the bell (and the webhook) only.
    MAIL_SERVER = os.environ.get("MAIL_SERVER") or None
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "25"))
    MAIL_USE_TLS = _flag("MAIL_USE_TLS")
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME") or None
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD") or None
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "ButlerDesk <butlerdesk@localhost>")
    # The installation's group robot: WeCom (企业微信), DingTalk (钉钉) or a generic signed
    # webhook (HMAC-SHA256 of the body with WEBHOOK_SECRET, for an SMS or WeChat gateway).
    WEBHOOK_URL = os.environ.get("WEBHOOK_URL") or None
    WEBHOOK_FORMAT = os.environ.get("WEBHOOK_FORMAT", "generic")
    WEBHOOK_SECRET = os.environ.get("WEBHOOK_SECRET") or None
    # The company's SMS gateway: each text is a POST of signed JSON {id, to, text, ...} (the
    # generic webhook's format and signature with SMS_WEBHOOK_SECRET), to people who chose it.
    SMS_WEBHOOK_URL = os.environ.get("SMS_WEBHOOK_URL") or None
    SMS_WEBHOOK_SECRET = os.environ.get("SMS_WEBHOOK_SECRET") or None
    # An area's own robot, set on the pages, may point only at public addresses unless this is
    # on (a gateway inside the company's network).
    ALLOW_PRIVATE_WEBHOOKS = _flag("ALLOW_PRIVATE_WEBHOOKS")
    # Delivery: seconds a send may take, tries before a notice is `failed`, and /healthz turns
    # unhealthy when a notice due has waited this long unsent.
    NOTIFY_TIMEOUT_SECONDS = float(os.environ.get("NOTIFY_TIMEOUT_SECONDS", "10"))
    NOTIFY_MAX_TRIES = int(os.environ.get("NOTIFY_MAX_TRIES", "10"))
    NOTIFY_STALE_SECONDS = float(os.environ.get("NOTIFY_STALE_SECONDS", "300"))
    # ... and when a sweeper's clock runs ahead of this server's by more than this.
    CLOCK_SKEW_SECONDS = float(os.environ.get("CLOCK_SKEW_SECONDS", "5"))
    # Photos and documents; by default instance/uploads. Every app server must see the same files.
    UPLOAD_FOLDER = os.environ.get("UPLOAD_FOLDER")
    # A request is refused before it is read when larger than this: by default ten files of
    # 10 MB (the limits views.uploads and workflows.attachments check, file by file) and the
    # form's text, so a form within its stated limits always arrives.
    MAX_CONTENT_LENGTH = int(os.environ.get("MAX_CONTENT_LENGTH", str(101 * 1024 * 1024)))


# The key these settings had as a default until it was removed: cookies signed with it are forged.
_KNOWN_KEYS = {"dev-only-change-me"}
MIN_SECRET_KEY = 32
MAKE_A_KEY = "python3 -c 'import secrets; print(secrets.token_hex(32))'"


def secret_key_problem(key: str | None) -> str | None:
    """What is wrong with a SECRET_KEY given to servers that must share one (None: nothing)."""
    if not key:
        return ("SECRET_KEY is not set. Every app server signs the session cookies with it, so "
                f"they must share one: export SECRET_KEY=\"$({MAKE_A_KEY})\" (keep it secret, "
                "the same on every server) and start again.")
    if key in _KNOWN_KEYS or len(key) < MIN_SECRET_KEY:
        return (f"SECRET_KEY is too weak (a published key, or under {MIN_SECRET_KEY} characters): "
                f"make one with {MAKE_A_KEY}")
    return None
