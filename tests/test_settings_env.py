"""Settings come from the environment, with safe local defaults and a strict production mode."""

import os
import subprocess
import sys

from tests.processes import ROOT

PRINT_SETTINGS = (
    "import django; django.setup(); from django.conf import settings as s; "
    "print(s.DATABASES['default']['ENGINE'], s.DATABASES['default']['NAME'], s.MEDIA_BACKEND, "
    "s.CACHES['default']['BACKEND'], s.AI_PROVIDER, s.SESSION_COOKIE_SECURE)"
)


def run_python(code: str, **env_overrides):
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "DATABASE_URL",
            "SECRET_KEY",
            "DEBUG",
            "PROMPTFINDER_TESTING",
            "REDIS_URL",
            "OPENAI_API_KEY",
            "MEDIA_BACKEND",
            "AI_PROVIDER",
            "ALLOWED_HOSTS",
        }
    }
    env["DJANGO_SETTINGS_MODULE"] = "prompts_manager.settings"
    env.update(env_overrides)
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def test_defaults_are_sqlite_local_media_database_cache_and_local_ai():
    result = run_python(PRINT_SETTINGS, DEBUG="1")
    assert result.returncode == 0, result.stderr
    engine, name, media, cache, ai, secure_cookie = result.stdout.split()
    assert engine == "django.db.backends.sqlite3"
    assert name.endswith("db.sqlite3")
    assert media == "local"
    assert cache == "django.core.cache.backends.db.DatabaseCache"
    assert ai == "local"
    assert secure_cookie == "False"


def test_database_url_selects_postgresql_and_redis_url_selects_redis():
    result = run_python(
        PRINT_SETTINGS,
        DEBUG="1",
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/promptfinder",
        REDIS_URL="redis://127.0.0.1:6379/3",
        OPENAI_API_KEY="test-key",
    )
    assert result.returncode == 0, result.stderr
    engine, name, _media, cache, ai, _ = result.stdout.split()
    assert engine == "django.db.backends.postgresql"
    assert name == "promptfinder"
    assert cache == "django_redis.cache.RedisCache"
    assert ai == "openai"


def test_refuses_to_start_without_secret_key_when_debug_is_off():
    result = run_python(PRINT_SETTINGS)
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_production_mode_turns_on_security_and_check_deploy_is_clean():
    # (the browser tests set DJANGO_ALLOW_ASYNC_UNSAFE in this process; a deployment never has it)
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "DEBUG", "PROMPTFINDER_TESTING", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="prompts_manager.settings",
        SECRET_KEY="a-long-random-production-secret-" + "x" * 40,
        ALLOWED_HOSTS="promptfinder.example",
        EMAIL_PROVIDER="postmark",
        POSTMARK_API_TOKEN="a-server-token",
    )
    undelivered = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={**env, "EMAIL_PROVIDER": "console"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert undelivered.returncode != 0 and "prompts.W001" in undelivered.stdout + undelivered.stderr
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout

    shown = run_python(PRINT_SETTINGS, SECRET_KEY="a-long-random-production-secret-" + "x" * 40)
    assert shown.stdout.split()[-1] == "True"  # secure session cookie


SQLITE_CONNECTION = (
    "import django; django.setup(); from django.db import connection; "
    "cursor = connection.cursor(); cursor.execute('PRAGMA journal_mode'); mode = cursor.fetchone()[0]; "
    "o = connection.settings_dict['OPTIONS']; "
    "print(connection.vendor, mode, o.get('transaction_mode'), o.get('timeout'), connection.settings_dict['NAME'])"
)


def test_sqlite_through_database_url_gets_wal_immediate_and_timeout(tmp_path):
    # Without these, web and worker sharing a DATABASE_URL=sqlite:/// file block each other
    # ("database is locked" in the middle of a transaction).
    path = tmp_path / "via-url.sqlite3"
    for env in ({"DATABASE_URL": f"sqlite:///{path}"}, {"SQLITE_PATH": str(path)}):
        result = run_python(SQLITE_CONNECTION, DEBUG="1", **env)
        assert result.returncode == 0, result.stderr
        vendor, journal, transaction_mode, timeout, name = result.stdout.split()
        assert (vendor, journal, transaction_mode, timeout) == ("sqlite", "wal", "IMMEDIATE", "20"), env
        assert name == str(path)


MAIL_AND_SOCIAL = (
    "import django; django.setup(); from django.conf import settings as s; "
    "print(s.EMAIL_BACKEND, ','.join(sorted(s.SOCIALACCOUNT_PROVIDERS)) or '-', "
    "any(a.startswith('allauth.socialaccount.providers.') for a in s.INSTALLED_APPS))"
)


def test_mail_is_printed_in_development_and_sent_by_the_chosen_provider():
    result = run_python(MAIL_AND_SOCIAL, DEBUG="1")
    assert result.stdout.split() == ["django.core.mail.backends.console.EmailBackend", "-", "False"], result.stderr
    for provider, backend in [
        ("postmark", "anymail.backends.postmark.EmailBackend"),
        ("sendgrid", "anymail.backends.sendgrid.EmailBackend"),
        ("mailgun", "anymail.backends.mailgun.EmailBackend"),
    ]:
        result = run_python(MAIL_AND_SOCIAL, DEBUG="1", EMAIL_PROVIDER=provider)
        assert result.stdout.split()[0] == backend, result.stderr
    result = run_python(MAIL_AND_SOCIAL, DEBUG="1", EMAIL_PROVIDER="carrier-pigeon")
    assert result.returncode != 0 and "EMAIL_PROVIDER must be one of" in result.stderr


def test_social_login_providers_are_on_only_with_both_their_keys():
    result = run_python(
        MAIL_AND_SOCIAL,
        DEBUG="1",
        GOOGLE_CLIENT_ID="id",
        GOOGLE_CLIENT_SECRET="secret",
        GITHUB_CLIENT_ID="id-without-secret",
        DISCORD_CLIENT_ID="id",
        DISCORD_CLIENT_SECRET="secret",
    )
    assert result.stdout.split()[1:] == ["discord,google", "True"], result.stderr


def test_the_redis_broker_is_chosen_explicitly_and_needs_redis_url():
    show = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.Q_CLUSTER.get('redis'), s.Q_CLUSTER.get('orm'))"
    )
    assert run_python(show, DEBUG="1", REDIS_URL="redis://127.0.0.1:6379/5").stdout.split() == ["None", "default"]
    shown = run_python(show, DEBUG="1", REDIS_URL="redis://127.0.0.1:6379/5", Q_BROKER="redis").stdout.split()
    assert shown == ["redis://127.0.0.1:6379/5", "None"]
    refused = run_python(show, DEBUG="1", Q_BROKER="redis")
    assert refused.returncode != 0 and "Q_BROKER=redis needs REDIS_URL" in refused.stderr
