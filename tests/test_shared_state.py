"""Two app hosts (gunicorn processes, own instance folders, one database) share what must be shared:
login throttles (in Redis), the per-account lockout, CSRF tokens and login sessions."""

import pytest

from .support.accounts import PASSWORD
from .support.hosts import Browser, host_env, start_gunicorn, stop, wait_until_answering
from .support.ports import free_port
from .support.redis import redis_server

WRONG = "not-the-password-1"


@pytest.fixture
def start_hosts(app, tmp_path):
    """start_hosts(count, **AUDITAPP_settings) -> their base URLs; all stopped after the test."""
    started = []

    def start(count=2, **settings):
        urls = []
        for _ in range(count):
            port = free_port()
            env = host_env(tmp_path / f"host{len(started)}", app.config["SQLALCHEMY_DATABASE_URI"], **settings)
            started.append(start_gunicorn(port, env))
            urls.append(f"http://127.0.0.1:{port}")
            wait_until_answering(urls[-1] + "/login", started[-1])
        return urls

    yield start
    for process in started:
        stop(process)


def attempt(browser, host, email, password=WRONG, token_from=None):
    """A login on `host` with the CSRF token of another host's login page (as a balancer would mix them)."""
    token = browser.csrf_token((token_from or host) + "/login")
    return browser.post(host + "/login", {"email": email, "password": password, "csrf_token": token})[0]


def test_failed_logins_spread_over_two_hosts_count_against_one_address_limit(start_hosts):
    with redis_server() as redis_url:
        one, two = start_hosts(2, RATELIMIT_STORAGE_URI=redis_url, LOGIN_RATE_LIMIT="6 per hour")
        browser = Browser()
        spread = [attempt(browser, (one, two)[n % 2], f"guess{n}@example.com", token_from=two) for n in range(6)]
        assert spread == [401] * 6
        assert attempt(browser, one, "guess6@example.com") == 429
        assert attempt(browser, two, "guess7@example.com") == 429


def test_with_counters_in_each_process_the_hosts_would_not_share_the_limit(start_hosts):
    """Why production needs Redis: memory:// counts per process, so two hosts allow twice the attempts."""
    one, two = start_hosts(2, RATELIMIT_STORAGE_URI="memory://", LOGIN_RATE_LIMIT="6 per hour")
    browser = Browser()
    spread = [attempt(browser, (one, two)[n % 2], f"guess{n}@example.com") for n in range(7)]
    assert spread == [401] * 7


def test_a_locked_account_is_locked_on_every_host(start_hosts, make_user):
    user = make_user("auditor")
    with redis_server() as redis_url:
        one, two = start_hosts(2, RATELIMIT_STORAGE_URI=redis_url, LOGIN_MAX_FAILURES="3")
        browser = Browser()
        assert [attempt(browser, (one, two)[n % 2], user.email) for n in range(3)] == [401] * 3
        assert attempt(browser, one, user.email, PASSWORD) == 429
        assert attempt(browser, two, user.email, PASSWORD) == 429


def test_a_csrf_token_and_a_login_from_one_host_are_good_on_the_other(start_hosts, make_user):
    user = make_user("auditor")
    one, two = start_hosts(2)
    browser = Browser()
    assert attempt(browser, two, user.email, PASSWORD, token_from=one) == 200  # redirected to the home screen
    status, page = browser.get(one + "/")
    assert status == 200 and f'data-user="{user.email}"' in page


def test_a_host_with_another_secret_key_refuses_the_token(start_hosts, make_user):
    """Why every host needs the same AUDITAPP_SECRET_KEY (deploy/auditapp.env.example says so)."""
    user = make_user("auditor")
    (one,) = start_hosts(1)
    (other,) = start_hosts(1, SECRET_KEY="another-secret-key")
    browser = Browser()
    assert attempt(browser, other, user.email, PASSWORD, token_from=one) == 400
    assert browser.get(other + "/")[1].count('data-user="') == 0
