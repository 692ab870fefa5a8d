"""``flux pull`` against a fake POS cloud on 127.0.0.1 (real HTTP; tests/fake_pos.py).

The fake serves the vendors' spec fixtures (tests/fixtures/vendors) with their paging; the pulled
orders must land exactly what ``flux import`` of the same fixture files lands.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from flux_cli.main import app
from flux_cli.options import PULL_PROVIDERS
from pipelines import ingest, pull
from pipelines.errors import CircuitOpenError
from pipelines.io import schema
from pipelines.io.db import Database
from pipelines.io.pos import providers, watermarks
from pipelines.io.pos.http import CircuitBreaker, parse_retry_after
from pipelines.settings import Settings, load_settings
from tests import fake_pos
from tests.fake_pos import FakePos
from tests.helpers import env_for

VENDORS = Path(__file__).parent / "fixtures" / "vendors"
SQUARE_PAGES = VENDORS / "square" / "search-orders-pages.json"
CLOVER_FILE = VENDORS / "clover" / "orders_night_owl.json"
TOAST_GUID = "6f1c2a8e-3b4d-4e5f-9a7b-1c2d3e4f5a6b"
TOAST_FILE = VENDORS / "toast" / TOAST_GUID / "ordersBulk_20250308.json"
BERLIN, LA_LOC, NIGHT_OWL = "LB7Q2M9XH3K4T", "L8WQ2ZJ5T1M0A", "7RZK2M4QX9WBA"
RESTAURANTS_CSV = (
    "restaurant_id,name,timezone,country,subdivision,cutoff_hour,pos_provider,pos_location_id,"
    "currency\n"
    f"r01,Harbor Grill,America/New_York,US,NY,4,toast,{TOAST_GUID},USD\n"
    f"r02,Mission Taqueria,America/Los_Angeles,US,CA,3,square,{LA_LOC},USD\n"
    f"r04,Night Owl Diner,America/Chicago,US,IL,4,clover,{NIGHT_OWL},USD\n"
    f"r08,Brauhaus Mitte,Europe/Berlin,DE,BE,4,square,{BERLIN},EUR\n"
)
SINCE = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
UNTIL = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
SECRETS = (
    fake_pos.SQUARE_TOKEN,
    fake_pos.CLOVER_TOKEN,
    fake_pos.TOAST_SECRET,
    fake_pos.TOAST_ACCESS,
)


@pytest.fixture
def fake() -> Iterator[FakePos]:
    server = FakePos()
    for page in json.loads(SQUARE_PAGES.read_text(encoding="utf-8")):
        for order in page["orders"]:
            server.square.setdefault(order["location_id"], []).append(order)
    server.clover[NIGHT_OWL] = json.loads(CLOVER_FILE.read_text(encoding="utf-8"))["elements"]
    server.toast[TOAST_GUID] = json.loads(TOAST_FILE.read_text(encoding="utf-8"))
    server.start()
    yield server
    server.stop()


def pos_config(base_url: str, **extra: Any) -> dict[str, Any]:
    common = {"base_url": base_url, "backoff_seconds": 0.01, "timeout_seconds": 0.5}
    return {
        "square": {**common, "token": fake_pos.SQUARE_TOKEN, "page_size": 2},
        "clover": {**common, "token": fake_pos.CLOVER_TOKEN, "page_size": 2},
        "toast": {
            **common,
            "client_id": fake_pos.TOAST_CLIENT_ID,
            "client_secret": fake_pos.TOAST_SECRET,
            "page_size": 4,
        },
        "initial_days": 400,
        **extra,
    }


def make_settings(
    tmp_path: Path,
    name: str,
    db_url: str | None,
    pos: dict[str, Any],
    restaurants_csv: str = RESTAURANTS_CSV,
) -> Settings:
    home = tmp_path / name
    url = db_url or f"sqlite:///{(home / 'flux.db').as_posix()}"
    settings = load_settings(home=home, database_url=url, pos=pos)
    folder = tmp_path / f"{name}-restaurants"
    folder.mkdir()
    (folder / "restaurants.csv").write_text(restaurants_csv, encoding="utf-8")
    ingest.run(ingest.IngestRequest(paths=(folder,)), settings)
    return settings


def imported_from_files(tmp_path: Path) -> Settings:
    """The reference: the same orders imported from the fixture files with flux import."""
    settings = make_settings(tmp_path, "files", None, {})
    folder = tmp_path / "exports" / TOAST_GUID
    folder.mkdir(parents=True)
    for src in (SQUARE_PAGES, CLOVER_FILE, TOAST_FILE):
        shutil.copy(src, folder / src.name)
    ingest.run(ingest.IngestRequest(paths=(tmp_path / "exports",)), settings)
    return settings


def contents(settings: Settings) -> dict[str, list[tuple[Any, ...]]]:
    """Orders, lines and the daily rollup, row by row (sorted)."""
    db = Database(settings)
    out = {}
    with db.connect() as conn:
        for table in (schema.orders, schema.order_lines, schema.demand_daily):
            rows = conn.execute(sa.select(table)).all()
            out[table.name] = sorted(tuple(_plain(v) for v in r) for r in rows)
    db.dispose()
    return out


def _plain(value: Any) -> Any:
    """A value as both lanes compare it (an instant in UTC, whatever the driver returns)."""
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return aware.astimezone(dt.UTC).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


_REFERENCE: dict[str, Any] = {}


def reference(tmp_path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """The reference contents, imported once per test session."""
    if not _REFERENCE:
        _REFERENCE.update(contents(imported_from_files(tmp_path)))
    return _REFERENCE


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def marks(settings: Settings) -> dict[tuple[str, str], dt.datetime]:
    db = Database(settings)
    with db.connect() as conn:
        out = watermarks.all_marks(conn)
    db.dispose()
    return out


# ------------------------------------------------------------------------- a full pull


@pytest.mark.parametrize("lane", ["sqlite", "postgres"])
def test_a_full_pull_lands_what_importing_the_files_lands(
    fake: FakePos, tmp_path: Path, lane: str, request: pytest.FixtureRequest
) -> None:
    db_url = request.getfixturevalue("pg_url") if lane == "postgres" else None
    settings = make_settings(tmp_path, "pulled", db_url, pos_config(fake.base_url))
    result = pull.run(pull.PullRequest(since=SINCE, until=UNTIL), settings)
    assert [(p.restaurant_id, p.status) for p in result.pulls] == [
        ("r01", "pulled"),
        ("r02", "pulled"),
        ("r04", "pulled"),
        ("r08", "pulled"),
    ]
    assert result.exit_code == 0
    # the fewest requests the paging allows: Square 5 orders of r02 at 2 a page = 3 pages,
    # 7 of r08 = 4 (a cursor only while more remain); Clover 9 orders at 2 = 5 (the last page
    # is short); Toast 9 at 4 = 3, plus one login
    assert result.requests == {"square": 7, "clover": 5, "toast": 4}
    assert {p.restaurant_id: p.records for p in result.pulls} == {
        "r01": 9,
        "r02": 5,
        "r04": 9,
        "r08": 7,
    }
    expected = reference(tmp_path)
    assert expected["orders"], "the reference import landed nothing"
    assert contents(settings) == expected
    assert set(marks(settings).values()) == {UNTIL}


def test_requests_follow_the_vendors_specs(fake: FakePos, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, "pulled", None, pos_config(fake.base_url))
    pull.run(pull.PullRequest(since=SINCE, until=UNTIL), settings)
    square = [r for r in fake.requests if r.path == "/v2/orders/search"]
    first = square[0]
    assert first.headers["Authorization"] == f"Bearer {fake_pos.SQUARE_TOKEN}"
    assert first.headers["Square-Version"] == providers.SQUARE_VERSION
    assert first.body["location_ids"] == [LA_LOC]
    assert first.body["query"]["filter"]["date_time_filter"]["updated_at"] == {
        "start_at": "2025-01-01T00:00:00.000Z",
        "end_at": "2026-01-01T00:00:00.000Z",
    }
    assert "cursor" not in first.body and "cursor" in square[1].body
    clover = [r for r in fake.requests if r.path.endswith("/orders")]
    assert clover[0].path == f"/v3/merchants/{NIGHT_OWL}/orders"
    assert clover[0].query["filter"] == [
        "modifiedTime>=1735689600000",
        "modifiedTime<1767225600000",
    ]
    assert [r.query["offset"] for r in clover] == [["0"], ["2"], ["4"], ["6"], ["8"]]
    toast = [r for r in fake.requests if r.path == "/orders/v2/ordersBulk"]
    assert toast[0].headers["Toast-Restaurant-External-ID"] == TOAST_GUID
    assert toast[0].query["startDate"] == ["2025-01-01T00:00:00.000+0000"]
    assert [r.query["page"] for r in toast] == [["1"], ["2"], ["3"]]


# ------------------------------------------------------------------------- faults


def test_faults_are_retried_and_land_the_same_orders(fake: FakePos, tmp_path: Path) -> None:
    fake.retry_after = 7
    fake.fault("square", "timeout", "500", "429", "drop", "repeat")
    fake.fault("clover", "503", "drop", "repeat", "429")
    fake.fault("toast", "drop", "repeat")
    settings = make_settings(tmp_path, "pulled", None, pos_config(fake.base_url))
    sleeps = Sleeps()
    result = pull.run(pull.PullRequest(since=SINCE, until=UNTIL), settings, sleep=sleeps)
    assert result.exit_code == 0, result.skipped
    # each fault costs one more request; "repeat" costs none (the page is whole, only longer)
    assert result.requests == {"square": 7 + 4, "clover": 5 + 3, "toast": 4 + 1}
    # both 429s waited exactly their Retry-After; the other retries waited a jittered backoff
    # of at most 0.01 * 2**(try - 1)
    assert sleeps.count(7.0) == 2
    assert all(s <= 0.08 for s in sleeps if s != 7.0)
    assert contents(settings) == reference(tmp_path)


def test_401_stops_the_provider_at_once_and_the_rest_go_on(fake: FakePos, tmp_path: Path) -> None:
    fake.fault("square", "401")
    settings = make_settings(tmp_path, "pulled", None, pos_config(fake.base_url))
    result = pull.run(pull.PullRequest(since=SINCE, until=UNTIL), settings)
    status = {p.restaurant_id: (p.status, p.reason) for p in result.pulls}
    assert status["r01"][0] == status["r04"][0] == "pulled"
    assert status["r02"][0] == status["r08"][0] == "skipped"
    assert "HTTP 401" in status["r02"][1] and "credentials were refused" in status["r02"][1]
    assert status["r08"][1].startswith("square stopped:")
    assert fake.page_requests("square") == 1  # never retried, r08 never asked
    assert result.exit_code == 3
    assert set(marks(settings)) == {("r01", "toast"), ("r04", "clover")}


def test_retries_spent_skip_the_restaurant_and_leave_its_watermark(
    fake: FakePos, tmp_path: Path
) -> None:
    pos = pos_config(fake.base_url)
    pos["clover"]["max_attempts"] = 2
    fake.fault("clover", "500", "500")
    settings = make_settings(tmp_path, "pulled", None, pos)
    result = pull.run(pull.PullRequest(since=SINCE, until=UNTIL), settings, sleep=Sleeps())
    (r04,) = [p for p in result.pulls if p.restaurant_id == "r04"]
    assert r04.status == "skipped"
    assert r04.reason == "clover: GET /v3/merchants/7RZK2M4QX9WBA/orders: HTTP 500 (after 2 tries)"
    assert ("r04", "clover") not in marks(settings)
    db = Database(settings)
    with db.connect() as conn:
        n = conn.execute(
            sa.select(sa.func.count())
            .select_from(schema.orders)
            .where(schema.orders.c.restaurant_id == "r04")
        ).scalar_one()
    db.dispose()
    assert n == 0


def test_a_page_cut_off_mid_body_is_fetched_again(fake: FakePos, tmp_path: Path) -> None:
    pos = pos_config(fake.base_url)
    pos["square"]["max_attempts"] = 1
    fake.fault("square", "drop")
    settings = make_settings(tmp_path, "pulled", None, pos)
    result = pull.run(pull.PullRequest(restaurants=frozenset({"r02"}), since=SINCE), settings)
    (r02,) = result.pulls
    assert r02.status == "skipped" and "connection failed (RemoteProtocolError)" in r02.reason


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = dt.datetime(2026, 1, 1, 12, 0, 0, tzinfo=dt.UTC)
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after("Thu, 01 Jan 2026 12:00:30 GMT", now) == 30.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_a_retry_after_longer_than_allowed_fails_at_once(fake: FakePos, tmp_path: Path) -> None:
    fake.retry_after = 3600
    fake.fault("square", "429")
    settings = make_settings(tmp_path, "pulled", None, pos_config(fake.base_url))
    sleeps = Sleeps()
    request = pull.PullRequest(restaurants=frozenset({"r02"}), since=SINCE, until=UNTIL)
    (r02,) = pull.run(request, settings, sleep=sleeps).pulls
    assert "Retry-After" in r02.reason and r02.status == "skipped"
    assert sleeps == [] and fake.page_requests("square") == 1


# ------------------------------------------------------------------------- circuit breaker


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_breaker_opens_cools_down_and_half_opens_to_probe() -> None:
    clock = Clock()
    breaker = CircuitBreaker("square", failures=3, cooldown_seconds=60, clock=clock)
    for _ in range(2):
        breaker.before_call()
        breaker.record_failure("HTTP 500")
    assert breaker.state == "closed"
    breaker.record_failure("HTTP 500")
    assert breaker.state == "open"
    with pytest.raises(CircuitOpenError, match="3 failed calls in a row"):
        breaker.before_call()
    clock.now += 59
    assert breaker.state == "open"
    clock.now += 1
    assert breaker.state == "half-open"
    breaker.before_call()  # the probe goes through
    breaker.record_failure("HTTP 500")  # and fails: open again, at once
    assert breaker.state == "open"
    clock.now += 60
    breaker.before_call()
    breaker.record_success()
    assert breaker.state == "closed"
    breaker.record_failure("HTTP 500")
    assert breaker.state == "closed"  # the count started again


def test_an_open_breaker_skips_the_providers_restaurants(fake: FakePos, tmp_path: Path) -> None:
    pos = pos_config(fake.base_url, breaker_failures=1, breaker_cooldown_seconds=300)
    pos["square"]["max_attempts"] = 1
    fake.fault("square", "500")
    settings = make_settings(tmp_path, "pulled", None, pos)
    result = pull.run(pull.PullRequest(since=SINCE, until=UNTIL), settings)
    status = {p.restaurant_id: (p.status, p.reason) for p in result.pulls}
    assert status["r02"] == ("skipped", "square: POST /v2/orders/search: HTTP 500 (after 1 tries)")
    assert status["r08"][0] == "skipped" and "circuit breaker open" in status["r08"][1]
    assert fake.page_requests("square") == 1  # r08 was refused without a request
    assert result.exit_code == 3


def test_after_the_cool_down_a_probe_closes_the_breaker(fake: FakePos, tmp_path: Path) -> None:
    pos = pos_config(fake.base_url, breaker_failures=1, breaker_cooldown_seconds=0)
    pos["square"]["max_attempts"] = 1
    fake.fault("square", "500")
    settings = make_settings(tmp_path, "pulled", None, pos)
    result = pull.run(pull.PullRequest(since=SINCE, until=UNTIL), settings)
    status = {p.restaurant_id: p.status for p in result.pulls}
    assert status == {"r01": "pulled", "r02": "skipped", "r04": "pulled", "r08": "pulled"}


# ------------------------------------------------------------------------- crash and rerun


def test_a_crash_mid_pull_then_a_rerun_loses_and_duplicates_nothing(
    fake: FakePos, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(tmp_path, "pulled", None, pos_config(fake.base_url))
    real = ingest.run

    def crash_on_r04(req: ingest.IngestRequest, s: Settings, *a: Any) -> ingest.IngestResult:
        if req.restaurants == frozenset({"r04"}):
            raise KeyboardInterrupt  # the process killed while r04's pages load
        return real(req, s, *a)

    monkeypatch.setattr(pull.ingest, "run", crash_on_r04)
    with pytest.raises(KeyboardInterrupt):
        pull.run(pull.PullRequest(until=UNTIL), settings)
    assert set(marks(settings)) == {("r01", "toast"), ("r02", "square")}
    monkeypatch.setattr(pull.ingest, "run", real)
    fake.requests.clear()
    again = pull.run(pull.PullRequest(until=UNTIL), settings)
    assert again.exit_code == 0
    windows = {p.restaurant_id: (p.start, p.end) for p in again.pulls}
    # r01 and r02 resume from their watermark less the 48-hour look-back; r04 and r08 were
    # never pulled: the initial 400 days
    assert windows["r01"] == (UNTIL - dt.timedelta(hours=48), UNTIL)
    assert windows["r04"] == (UNTIL - dt.timedelta(days=400), UNTIL)
    expected = reference(tmp_path)
    assert contents(settings) == expected
    third = pull.run(pull.PullRequest(until=UNTIL + dt.timedelta(hours=1)), settings)
    assert third.exit_code == 0 and contents(settings) == expected
    assert set(marks(settings).values()) == {UNTIL + dt.timedelta(hours=1)}


def test_the_look_back_catches_a_late_void_without_duplicates(
    fake: FakePos, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path, "pulled", None, pos_config(fake.base_url))
    first_end = dt.datetime(2025, 10, 26, 2, 0, tzinfo=dt.UTC)
    request = pull.PullRequest(restaurants=frozenset({"r08"}), since=SINCE, until=first_end)
    (first,) = pull.run(request, settings).pulls
    # changed before 02:00: Oa1 19:02, Od4 20:00, Oe5 21:00, Of6 21:05 (the 25th), Ob2 00:45
    assert first.records == 5
    # an order seen completed is canceled an hour later (a late void)
    for order in fake.square[BERLIN]:
        if order["id"] == "Oa1SchweinshaxeHellesCurryZY":
            order["state"] = "CANCELED"
            order["updated_at"] = "2025-10-26T01:30:00.000Z"  # before the watermark
    (second,) = pull.run(
        pull.PullRequest(restaurants=frozenset({"r08"}), until=UNTIL), settings
    ).pulls
    assert second.start == first_end - dt.timedelta(hours=48)
    db = Database(settings)
    with db.connect() as conn:
        kinds = (
            conn.execute(
                sa.select(schema.order_lines.c.kind).where(
                    schema.order_lines.c.order_id == "Oa1SchweinshaxeHellesCurryZY"
                )
            )
            .scalars()
            .all()
        )
        orders = conn.execute(
            sa.select(sa.func.count())
            .select_from(schema.orders)
            .where(schema.orders.c.restaurant_id == "r08")
        ).scalar_one()
    db.dispose()
    assert kinds and set(kinds) == {"void"}
    assert orders == 5  # Oa1, Ob2, Oc3, Od4, Og7 (OPEN and DRAFT are not sales), once each


def test_a_backfill_does_not_move_the_watermark_back(fake: FakePos, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, "pulled", None, pos_config(fake.base_url))
    only = frozenset({"r02"})
    pull.run(pull.PullRequest(restaurants=only, since=SINCE, until=UNTIL), settings)
    old = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)
    (back,) = pull.run(
        pull.PullRequest(restaurants=only, since=old, until=old + dt.timedelta(days=30)), settings
    ).pulls
    assert back.status == "pulled" and back.watermark == UNTIL
    assert marks(settings)[("r02", "square")] == UNTIL


# ------------------------------------------------------------------------- CLI and secrets


def cli_env(settings: Settings, base_url: str, **extra: str) -> dict[str, str]:
    env = env_for(settings)
    env.update(
        {
            "FLUX_POS__SQUARE__BASE_URL": base_url,
            "FLUX_POS__SQUARE__TOKEN": fake_pos.SQUARE_TOKEN,
            "FLUX_POS__SQUARE__BACKOFF_SECONDS": "0",
            "FLUX_POS__CLOVER__BASE_URL": base_url,
            "FLUX_POS__CLOVER__TOKEN": fake_pos.CLOVER_TOKEN,
            "FLUX_POS__CLOVER__BACKOFF_SECONDS": "0",
            "FLUX_POS__TOAST__BASE_URL": base_url,
            "FLUX_POS__TOAST__CLIENT_ID": fake_pos.TOAST_CLIENT_ID,
            "FLUX_POS__TOAST__CLIENT_SECRET": fake_pos.TOAST_SECRET,
            "FLUX_POS__INITIAL_DAYS": "400",
            **extra,
        }
    )
    return env


@pytest.mark.parametrize("log_format", ["json", "console"])
def test_secrets_never_reach_the_output(fake: FakePos, tmp_path: Path, log_format: str) -> None:
    settings = make_settings(tmp_path, "pulled", None, {})
    fake.fault("square", "500", "429", "401")
    fake.fault("clover", "drop")
    fake.retry_after = 0
    env = cli_env(settings, fake.base_url)
    result = CliRunner().invoke(
        app,
        ["-vv", "--log-format", log_format, "pull", "--until", "2026-01-01", "--json"],
        env=env,
        catch_exceptions=False,
    )
    assert result.exit_code == 3, result.stdout + result.stderr
    output = result.stdout + result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    skipped = {p["restaurant_id"]: p["reason"] for p in summary["skipped"]}
    assert set(skipped) == {"r02", "r08"} and "HTTP 401" in skipped["r02"]
    for secret in SECRETS:
        assert secret not in output
    assert "Bearer" not in output


def test_the_cli_names_who_was_skipped_and_exits_3(fake: FakePos, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, "pulled", None, {})
    fake.fault("clover", "401")
    env = cli_env(settings, fake.base_url)
    result = CliRunner().invoke(
        app, ["pull", "--since", "2025-01-01", "--until", "2026-01-01"], env=env
    )
    assert result.exit_code == 3
    assert "skipped r04 (clover): clover: GET /v3/merchants/7RZK2M4QX9WBA/orders: HTTP 401" in (
        " ".join(result.stderr.split())
    )
    assert "pulled 3 of 4 restaurant(s)" in result.stdout


@pytest.mark.parametrize(
    ("args", "extra", "message"),
    [
        (["pull", "--provider", "revel"], {}, "--provider"),
        (["pull", "--since", "yesterday"], {}, "--since 'yesterday': not a date or time"),
        (["pull", "-r", "r99"], {}, "unknown restaurant(s): r99"),
        (["pull"], {"FLUX_POS__SQUARE__TOKEN": ""}, "FLUX_POS__SQUARE__TOKEN"),
    ],
)
def test_usage_errors_exit_2(
    fake: FakePos, tmp_path: Path, args: list[str], extra: dict[str, str], message: str
) -> None:
    settings = make_settings(tmp_path, "pulled", None, {})
    env = cli_env(settings, fake.base_url, **extra)
    if extra.get("FLUX_POS__SQUARE__TOKEN") == "":
        del env["FLUX_POS__SQUARE__TOKEN"]
    result = CliRunner().invoke(app, args, env=env)
    assert result.exit_code == 2, result.stdout + result.stderr
    assert message in " ".join(result.stderr.split())
    assert fake.requests == []


def test_the_cli_lists_the_providers_pull_supports() -> None:
    assert PULL_PROVIDERS == providers.SUPPORTED


# ------------------------------------------------------------------------- flux run


def test_flux_run_with_source_pos_pulls_and_a_failing_vendor_makes_it_partial(
    fake: FakePos, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path, "pulled", None, {})
    fake.fault("clover", "401")
    env = cli_env(settings, fake.base_url, FLUX_RUN__SOURCE="pos")
    result = CliRunner().invoke(app, ["run", "--no-retrain", "--json"], env=env)
    assert result.exit_code == 3, result.stdout + result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    step = summary["steps"][0]
    assert step["step"] == "import" and step["status"] == "ok"
    assert step["pulled"] == ["r01", "r02", "r08"]
    assert step["detail"].startswith("pulled 3 of 4 restaurant(s) from square, clover, toast")
    assert summary["problems"]["r04"].startswith("not pulled: clover: GET /v3/merchants/")
    assert "HTTP 401" in summary["problems"]["r04"]
    for secret in SECRETS:
        assert secret not in result.stdout + result.stderr
    # a dry run plans the pull without asking any vendor
    asked = len(fake.requests)
    planned = CliRunner().invoke(app, ["run", "--dry-run", "--json"], env=env)
    assert planned.exit_code == 0 and len(fake.requests) == asked
    first = json.loads(planned.stdout.strip().splitlines()[-1])["steps"]
    assert [s["status"] for s in first if s["step"] == "import"] == ["planned"]


def test_a_record_served_twice_keeps_its_newest_copy() -> None:
    new = {"id": "A", "updated_at": "2025-03-10T12:00:00.000Z", "state": "CANCELED"}
    old = {"id": "A", "updated_at": "2025-03-10T11:00:00Z", "state": "COMPLETED"}
    pages = [{"orders": [new], "cursor": "c1"}, {"orders": [old, {"id": "B"}]}]
    assert pull.merge_pages("square_orders", pages) == {"orders": [new, {"id": "B"}]}
    clover = [
        {"elements": [{"id": "X", "modifiedTime": 2}], "href": "h"},
        {"elements": [{"id": "X", "modifiedTime": 1}, {"id": "X", "modifiedTime": 2, "v": 2}]},
    ]
    assert pull.merge_pages("clover", clover) == {
        "href": "h",
        "elements": [{"id": "X", "modifiedTime": 2, "v": 2}],  # a tie: the later copy
    }
    # Toast's adapter itself keeps the copy modified last: the pages are only joined
    assert pull.merge_pages("toast", [[{"guid": "g"}], [{"guid": "g"}]]) == [
        {"guid": "g"},
        {"guid": "g"},
    ]
