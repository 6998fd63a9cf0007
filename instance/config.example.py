# Storefront instance configuration. Copy to instance/config.py and edit.
# Every key, its default and its meaning: storefront/config.py.
# Environment variables STOREFRONT_<KEY> override this file.

# Required in production. python -c "import secrets; print(secrets.token_hex(32))"
SECRET_KEY = "replace-me"

STORE_NAME = "My Shop"
STORE_CURRENCY = "EUR"
STORE_LOCALE = "en_US"

# Production database (MariaDB); the default is SQLite in this folder.
# DATABASE_URL = "mysql+pymysql://storefront:secret@127.0.0.1/storefront?charset=utf8mb4"

# Redis for jobs, rate limits and cache; unset means jobs run inline.
# REDIS_URL = "redis://127.0.0.1:6379/0"

# Behind a reverse proxy that sets X-Forwarded-For / X-Forwarded-Proto:
# PROXY_COUNT = 1
# SESSION_COOKIE_SECURE = True

# LOG_FORMAT = "json"
