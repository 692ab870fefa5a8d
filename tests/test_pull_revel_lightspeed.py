"""``flux pull`` from Revel and Lightspeed K-Series, against the fake POS cloud (real HTTP).

The fake serves the vendors' spec fixtures (tests/fixtures/vendors/revel, .../lightspeed; their
READMEs cite the sources) with the vendors' paging: Revel's Tastypie ``limit``/``offset`` and
``meta.next`` (api-evangelist/revel-systems ``openapi/revel-systems-orders-api-openapi.yml``;
the ``API-AUTHENTICATION: key:secret`` header and the ``updated_date`` filters as in the public
client QANSIGLIERE/RevelSystemsAPIIntegration ``lib/apiIntegration.js``), Lightspeed's
``financials/{from}/{to}`` with ``pageSize``, ``_links.nextPage`` and its 365-day limit
(api-evangelist/lightspeed-pos ``openapi/lightspeed-pos-financial-api-openapi.yml``,
``financial-apiGetFinancials``; OAuth2 token URL ``/oauth/token`` of its security scheme). What is
pulled must land exactly what ``flux import`` of the same fixture files lands.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from flux_cli.main import app
from pipelines import ingest, pull
from pipelines.errors import ConfigError, ProviderError
from pipelines.io.pos import providers
from pipelines.io.pos.http import CircuitBreaker
from pipelines.settings import ProviderConfig, Settings
from tests import fake_pos
from tests.fake_pos import FakePos
from tests.helpers import env_for
from tests.test_pull import Sleeps, contents, make_settings, marks

VENDORS = Path(__file__).parent / "fixtures" / "vendors"
REVEL_ORDERS = VENDORS / "revel" / "orders.json"
REVEL_ITEMS = VENDORS / "revel" / "order_items.json"
LS_ZINC = VENDORS / "lightspeed" / "v1_financials_le_petit_zinc.json"
LS_PAGES = VENDORS / "lightspeed" / "v1_pages_two_locations.json"
ZINC, HARBOUR, MAPLE = "158796341233665", "7700112", "12"
RESTAURANTS_CSV = (
    "restaurant_id,name,timezone,country,subdivision,cutoff_hour,pos_provider,pos_location_id,"
    "currency\n"
    f"r03,Le Petit Zinc,Europe/Paris,FR,,5,lightspeed,{ZINC},EUR\n"
    f"r05,Maple & Rye,America/Toronto,CA,ON,4,revel,{MAPLE},CAD\n"
    f"r07,Harbour Fish Bar,Australia/Sydney,AU,NSW,4,lightspeed,{HARBOUR},AUD\n"
)
SINCE = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
UNTIL = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
SECRETS = (
    fake_pos.REVEL_KEY,
    fake_pos.REVEL_SECRET,
    fake_pos.LIGHTSPEED_SECRET,
    fake_pos.LIGHTSPEED_REFRESH,
    fake_pos.LIGHTSPEED_ACCESS,
)


@pytest.fixture
def fake() -> Iterator[FakePos]:
    server = FakePos()
    orders = json.loads(REVEL_ORDERS.read_text(encoding="utf-8"))["objects"]
    items = json.loads(REVEL_ITEMS.read_text(encoding="utf-8"))["objects"]
    # Revel knows each object's establishment; an item's is its order's (all of 12 here)
    for obj in [*orders, *items]:
        est = str(obj.get("establishment", "/12/")).strip("/").split("/")[-1]
        server.revel.setdefault(est, []).append(obj)
    server.revel_zones[MAPLE] = "America/Toronto"
    server.lightspeed[ZINC] = list(json.loads(LS_ZINC.read_text(encoding="utf-8"))["sales"])
    for page in json.loads(LS_PAGES.read_text(encoding="utf-8")):
        loc = str(page["businessLocationId"])
        server.lightspeed.setdefault(loc, []).extend(page["sales"])
    server.start()
    yield server
    server.stop()


def pos_config(base_url: str, **extra: Any) -> dict[str, Any]:
    common = {"base_url": base_url, "backoff_seconds": 0.01, "timeout_seconds": 0.5}
    return {
        "revel": {
            **common,
            "api_key": fake_pos.REVEL_KEY,
            "api_secret": fake_pos.REVEL_SECRET,
            "page_size": 2,
        },
        "lightspeed": {
            **common,
            "client_id": fake_pos.LIGHTSPEED_CLIENT_ID,
            "client_secret": fake_pos.LIGHTSPEED_SECRET,
            "refresh_token": fake_pos.LIGHTSPEED_REFRESH,
            "page_size": 4,
        },
        "initial_days": 400,
        **extra,
    }


def settings_for(tmp_path: Path, name: str, pos: dict[str, Any], db: str | None = None) -> Settings:
    return make_settings(tmp_path, name, db, pos, restaurants_csv=RESTAURANTS_CSV)


_REFERENCE: dict[str, Any] = {}


def reference(tmp_path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """The same orders imported from the fixture files with flux import (once per session).
    Revel's OrderItems name no establishment: their folder is named after it (12)."""
    if not _REFERENCE:
        settings = settings_for(tmp_path, "files", {})
        folder = tmp_path / "exports" / MAPLE
        folder.mkdir(parents=True)
        for src in (REVEL_ORDERS, REVEL_ITEMS, LS_ZINC, LS_PAGES):
            shutil.copy(src, folder / src.name)
        request = ingest.IngestRequest(paths=(tmp_path / "exports",), allow_rejects=True)
        ingest.run(request, settings)
        _REFERENCE.update(contents(settings))
    return _REFERENCE


# ------------------------------------------------------------------------- a full pull


@pytest.mark.parametrize("lane", ["sqlite", "postgres"])
def test_a_full_pull_lands_what_importing_the_files_lands(
    fake: FakePos, tmp_path: Path, lane: str, request: pytest.FixtureRequest
) -> None:
    db_url = request.getfixturevalue("pg_url") if lane == "postgres" else None
    settings = settings_for(tmp_path, "pulled", pos_config(fake.base_url), db_url)
    result = pull.run(pull.PullRequest(since=SINCE, until=UNTIL), settings)
    assert [(p.restaurant_id, p.status) for p in result.pulls] == [
        ("r03", "pulled"),
        ("r05", "pulled"),
        ("r07", "pulled"),
    ]
    # the fewest requests the paging allows. Revel, 2 a page: establishment 12 has 6 Orders
    # (7001-7006; 7008 is establishment 99's) = 3 pages and 9 OrderItems = 5 pages (meta.next
    # only while more remain). Lightspeed, 4 a page: r03 has 17 + 2 sales = 5 pages, r07 1 sale
    # = 1 page, plus one token refresh for the run
    assert result.requests == {"revel": 3 + 5, "lightspeed": 5 + 1 + 1}
    assert {p.restaurant_id: p.records for p in result.pulls} == {"r03": 19, "r05": 15, "r07": 1}
    expected = reference(tmp_path)
    assert expected["orders"], "the reference import landed nothing"
    assert contents(settings) == expected
    assert set(marks(settings).values()) == {UNTIL}


def test_requests_follow_the_vendors_specs(fake: FakePos, tmp_path: Path) -> None:
    settings = settings_for(tmp_path, "pulled", pos_config(fake.base_url))
    pull.run(pull.PullRequest(since=SINCE, until=UNTIL), settings)
    orders = [r for r in fake.requests if r.path == "/resources/Order/"]
    first = orders[0]
    assert first.headers["API-AUTHENTICATION"] == f"{fake_pos.REVEL_KEY}:{fake_pos.REVEL_SECRET}"
    assert "Authorization" not in first.headers
    # 2025-01-01T00:00Z and 2026-01-01T00:00Z are 19:00 the day before in Toronto (EST, UTC-5)
    assert {k: v[0] for k, v in first.query.items()} == {
        "establishment": "12",
        "updated_date__gte": "2024-12-31T19:00:00",
        "updated_date__lt": "2025-12-31T19:00:00",
        "order_by": "updated_date",
        "limit": "2",
        "offset": "0",
    }
    assert [r.query["offset"] for r in orders] == [["0"], ["2"], ["4"]]
    items = [r for r in fake.requests if r.path == "/resources/OrderItem/"]
    assert items[0].query["order__establishment"] == ["12"] and len(items) == 5
    token, *calls = [r for r in fake.requests if r.path.startswith(("/oauth", "/f/"))]
    assert token.path == "/oauth/token" and token.method == "POST"
    assert token.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert token.body == {
        "grant_type": "refresh_token",
        "refresh_token": fake_pos.LIGHTSPEED_REFRESH,
        "client_id": fake_pos.LIGHTSPEED_CLIENT_ID,
        "client_secret": fake_pos.LIGHTSPEED_SECRET,
    }
    window = "2025-01-01T00:00:00Z/2026-01-01T00:00:00Z"
    assert calls[0].path == f"/f/finance/{ZINC}/financials/{window}"
    assert calls[0].headers["Authorization"] == f"Bearer {fake_pos.LIGHTSPEED_ACCESS}"
    assert calls[0].query == {"pageSize": ["4"]}
    assert "nextPageToken" in calls[1].query
    assert fake.tokens_refreshed == 1  # one token for both locations


def test_a_window_longer_than_365_days_is_split(fake: FakePos, tmp_path: Path) -> None:
    settings = settings_for(tmp_path, "pulled", pos_config(fake.base_url))
    # fractions of a second: the calls send whole seconds, the start rounded down, the end up
    since = dt.datetime(2024, 6, 1, 0, 0, 0, 500_000, tzinfo=dt.UTC)
    until = UNTIL + dt.timedelta(microseconds=250_000)
    request = pull.PullRequest(restaurants=frozenset({"r05", "r07"}), since=since, until=until)
    r05, r07 = pull.run(request, settings).pulls
    assert r05.status == r07.status == "pulled" and r07.records == 1
    # 2024-06-01 + 365 days = 2025-06-01 (2024-06-01..2025-06-01 holds no 29 February)
    assert [r.path for r in fake.requests if "/financials/" in r.path] == [
        f"/f/finance/{HARBOUR}/financials/2024-06-01T00:00:00Z/2025-06-01T00:00:00Z",
        f"/f/finance/{HARBOUR}/financials/2025-06-01T00:00:00Z/2026-01-01T00:00:01Z",
    ]
    # Revel: 2024-06-01T00:00Z is 20:00 the day before in Toronto (EDT, UTC-4); the end as above
    first = next(r for r in fake.requests if r.path == "/resources/Order/")
    assert first.query["updated_date__gte"] == ["2024-05-31T20:00:00"]
    assert first.query["updated_date__lt"] == ["2025-12-31T19:00:01"]


# ------------------------------------------------------------------------- faults


def test_faults_are_retried_and_land_the_same_orders(fake: FakePos, tmp_path: Path) -> None:
    fake.retry_after = 7
    # Revel: the first page fails four ways, then succeeds; the second repeats the first's
    # objects. Lightspeed: the first page fails twice; the second repeats; the third is a 429
    fake.fault("revel", "timeout", "500", "429", "drop", "none", "repeat")
    fake.fault("lightspeed", "503", "drop", "none", "repeat", "429")
    settings = settings_for(tmp_path, "pulled", pos_config(fake.base_url))
    sleeps = Sleeps()
    result = pull.run(pull.PullRequest(since=SINCE, until=UNTIL), settings, sleep=sleeps)
    assert result.exit_code == 0, result.skipped
    # each failing fault costs one more request; "repeat" costs none
    assert result.requests == {"revel": 8 + 4, "lightspeed": 7 + 3}
    assert sleeps.count(7.0) == 2  # both 429s waited exactly their Retry-After
    assert all(s <= 0.08 for s in sleeps if s != 7.0)  # the rest: jitter under 0.01 * 2**3
    assert contents(settings) == reference(tmp_path)


def test_401_stops_the_provider_at_once(fake: FakePos, tmp_path: Path) -> None:
    pos = pos_config(fake.base_url)
    pos["lightspeed"]["refresh_token"] = "a-revoked-refresh-token"
    fake.fault("revel", "401")
    settings = settings_for(tmp_path, "pulled", pos)
    result = pull.run(pull.PullRequest(since=SINCE, until=UNTIL), settings)
    status = {p.restaurant_id: (p.status, p.reason) for p in result.pulls}
    assert status["r03"] == (
        "skipped",
        "lightspeed: POST /oauth/token: HTTP 401: the credentials were refused; check the "
        "[pos.lightspeed] settings (not retried)",
    )
    assert status["r07"][0] == "skipped" and status["r07"][1].startswith("lightspeed stopped:")
    assert status["r05"][0] == "skipped" and "GET /resources/Order/: HTTP 401" in status["r05"][1]
    # never retried: one token request, one Revel page request
    assert [r.path for r in fake.requests] == ["/oauth/token", "/resources/Order/"]
    assert result.exit_code == 1 and marks(settings) == {}


def test_meta_next_to_another_host_is_not_followed(fake: FakePos, tmp_path: Path) -> None:
    cfg = ProviderConfig(
        base_url=fake.base_url, api_key="k", api_secret="s", page_size=2, max_attempts=1
    )
    provider = providers.build("revel", cfg, CircuitBreaker("revel"))
    assert isinstance(provider, providers.RevelProvider)
    with pytest.raises(ProviderError, match=r"meta\.next points to another host"):
        provider._follow("/resources/Order/", "https://evil.example/resources/Order/?offset=2")
    with pytest.raises(ProviderError, match=r"meta\.next leaves the resource"):
        provider._follow("/resources/Order/", "/resources/Customer/?offset=2")
    assert provider._follow("/resources/Order/", "/resources/Order/?limit=2&offset=2") == [
        ("limit", "2"),
        ("offset", "2"),
    ]
    provider.client.close()


def test_revel_needs_its_accounts_host(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"\[pos.revel\] base_url not set"):
        providers.build("revel", ProviderConfig(api_key="k", api_secret="s"), CircuitBreaker("r"))


# ------------------------------------------------------------------------- crash and rerun


def test_a_crash_mid_pull_then_a_rerun_loses_and_duplicates_nothing(
    fake: FakePos, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_for(tmp_path, "pulled", pos_config(fake.base_url))
    real = ingest.run

    def crash_on_r05(req: ingest.IngestRequest, s: Settings, *a: Any) -> ingest.IngestResult:
        if req.restaurants == frozenset({"r05"}):
            raise KeyboardInterrupt  # the process killed while r05's pages load
        return real(req, s, *a)

    monkeypatch.setattr(pull.ingest, "run", crash_on_r05)
    with pytest.raises(KeyboardInterrupt):
        pull.run(pull.PullRequest(until=UNTIL), settings)
    assert set(marks(settings)) == {("r03", "lightspeed")}
    monkeypatch.setattr(pull.ingest, "run", real)
    fake.requests.clear()
    again = pull.run(pull.PullRequest(until=UNTIL), settings)
    assert again.exit_code == 0
    windows = {p.restaurant_id: (p.start, p.end) for p in again.pulls}
    # r03 resumes 48 hours before its watermark; r05 and r07 were never pulled: 400 days back,
    # which Lightspeed takes in two calls (365 days, then 35)
    assert windows["r03"] == (UNTIL - dt.timedelta(hours=48), UNTIL)
    assert windows["r05"] == windows["r07"] == (UNTIL - dt.timedelta(days=400), UNTIL)
    assert len([r for r in fake.requests if f"/{HARBOUR}/financials/" in r.path]) == 2
    expected = reference(tmp_path)
    assert contents(settings) == expected
    third = pull.run(pull.PullRequest(until=UNTIL + dt.timedelta(hours=1)), settings)
    assert third.exit_code == 0 and contents(settings) == expected
    assert set(marks(settings).values()) == {UNTIL + dt.timedelta(hours=1)}


# ------------------------------------------------------------------------- CLI, secrets, doctor


def cli_env(settings: Settings, base_url: str) -> dict[str, str]:
    return {
        **env_for(settings),
        "FLUX_POS__REVEL__BASE_URL": base_url,
        "FLUX_POS__REVEL__API_KEY": fake_pos.REVEL_KEY,
        "FLUX_POS__REVEL__API_SECRET": fake_pos.REVEL_SECRET,
        "FLUX_POS__REVEL__BACKOFF_SECONDS": "0",
        "FLUX_POS__LIGHTSPEED__BASE_URL": base_url,
        "FLUX_POS__LIGHTSPEED__CLIENT_ID": fake_pos.LIGHTSPEED_CLIENT_ID,
        "FLUX_POS__LIGHTSPEED__CLIENT_SECRET": fake_pos.LIGHTSPEED_SECRET,
        "FLUX_POS__LIGHTSPEED__REFRESH_TOKEN": fake_pos.LIGHTSPEED_REFRESH,
        "FLUX_POS__LIGHTSPEED__BACKOFF_SECONDS": "0",
        "FLUX_POS__INITIAL_DAYS": "400",
    }


@pytest.mark.parametrize("log_format", ["json", "console"])
def test_secrets_never_reach_the_output(fake: FakePos, tmp_path: Path, log_format: str) -> None:
    settings = settings_for(tmp_path, "pulled", {})
    fake.fault("revel", "500", "429", "401")
    fake.fault("lightspeed", "drop")
    fake.retry_after = 0
    result = CliRunner().invoke(
        app,
        ["-vv", "--log-format", log_format, "pull", "--until", "2026-01-01", "--json"],
        env=cli_env(settings, fake.base_url),
        catch_exceptions=False,
    )
    assert result.exit_code == 3, result.stdout + result.stderr
    output = result.stdout + result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    skipped = {p["restaurant_id"]: p["reason"] for p in summary["skipped"]}
    assert set(skipped) == {"r05"} and "HTTP 401" in skipped["r05"]
    for secret in SECRETS:
        assert secret not in output
    assert "Bearer" not in output


def test_doctor_checks_revel_and_lightspeed_once(fake: FakePos, tmp_path: Path) -> None:
    settings = settings_for(tmp_path, "pulled", {})
    env = cli_env(settings, fake.base_url)
    result = CliRunner().invoke(app, ["doctor", "--json"], env=env)
    pos = {c["name"]: c for c in json.loads(result.stdout)["checks"]}["pos"]
    assert pos["status"] == "ok", pos
    # the first restaurant of each vendor: r05 for Revel, r03 for Lightspeed
    assert pos["detail"] == f"revel ok ({MAPLE}); lightspeed ok ({ZINC})"
    assert [r.path for r in fake.requests] == [
        "/enterprise/Establishment/12/",
        "/oauth/token",
        f"/f/finance/{ZINC}/paymentMethods",
    ]
    env["FLUX_POS__REVEL__API_SECRET"] = "wrong-secret-never-leak"
    result = CliRunner().invoke(app, ["doctor", "--json"], env=env)
    pos = {c["name"]: c for c in json.loads(result.stdout)["checks"]}["pos"]
    assert result.exit_code == 1 and pos["status"] == "fail"
    assert "revel: GET /enterprise/Establishment/12/: HTTP 401" in str(pos["detail"])
    assert "lightspeed ok" in str(pos["detail"])
    output = result.stdout + result.stderr
    for secret in ("wrong-secret-never-leak", *SECRETS):
        assert secret not in output


def test_records_served_twice_are_kept_once() -> None:
    sale = {"accountFiscId": "A1.18", "type": "SALE", "salesLines": []}
    update = {"accountFiscId": "A1.18", "type": "UPDATE"}  # the sale's bookkeeping twin
    pages = [
        {"businessLocationId": 1, "sales": [sale], "_links": {"nextPage": {"href": "x"}}},
        {"businessLocationId": 1, "sales": [sale, update]},  # the first page's sale repeated
    ]
    assert pull.merge_pages("lightspeed", pages) == {
        "businessLocationId": 1,
        "sales": [sale, update],
    }
    # Revel: an Order and an OrderItem may share an id; a moved object keeps its newest copy
    order = {"id": 7, "resource_uri": "/resources/Order/7/", "updated_date": "2025-11-01T19:05:00"}
    item = {
        "id": 7,
        "resource_uri": "/resources/OrderItem/7/",
        "updated_date": "2025-11-01T19:06:00",
    }
    edited = {**order, "updated_date": "2025-11-01T20:00:00", "deleted": True}
    meta = {"limit": 2, "next": None}
    revel = [{"meta": meta, "objects": [edited, item]}, {"meta": meta, "objects": [order]}]
    assert pull.merge_pages("revel_api", revel) == {"meta": meta, "objects": [edited, item]}
