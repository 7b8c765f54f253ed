"""Settings. Every value can be overridden from the environment."""
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only-change-me")
    SQLALCHEMY_DATABASE_URI = os.environ.get(
        "DATABASE_URL", f"sqlite:///{BASE_DIR / 'instance' / 'butlerdesk.sqlite3'}"
    )
    # The property's time zone: times are stored in UTC and shown in this zone;
    # month boundaries of the assessment are local.
    TIMEZONE = os.environ.get("TIMEZONE", "Asia/Shanghai")
    RULES_FILE = os.environ.get("RULES_FILE", str(BASE_DIR / "workflows" / "rules.toml"))
    # How long an API token stays valid.
    TOKEN_TTL_DAYS = int(os.environ.get("TOKEN_TTL_DAYS", "30"))
    BABEL_DEFAULT_LOCALE = os.environ.get("BABEL_DEFAULT_LOCALE", "zh_CN")
    # Compiled catalogs (`pybabel compile -d translations`, run by the Makefile's setup).
    BABEL_TRANSLATION_DIRECTORIES = str(BASE_DIR / "translations")
    WTF_CSRF_TIME_LIMIT = None  # a butler's form may stay open for a whole shift
    API_PAGE_SIZE = 50
    # /healthz turns unhealthy when no sweep finished for this long (a sweeper runs every 5 s).
    SWEEP_STALE_SECONDS = float(os.environ.get("SWEEP_STALE_SECONDS", "60"))
    # Photos and documents; by default instance/uploads. Every app server must see the same files.
    UPLOAD_FOLDER = os.environ.get("UPLOAD_FOLDER")
    # Each upload is at most 10 MB (checked file by file); a request carrying more than a few
    # phone photos is refused before it is read.
    MAX_CONTENT_LENGTH = int(os.environ.get("MAX_CONTENT_LENGTH", str(64 * 1024 * 1024)))
