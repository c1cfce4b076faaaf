"""An organisation registers, is verified, publishes listings that students find; events reach the broker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.listing import handlers, store

from .conftest import OWN_ORG


def test_an_organisation_registers_pending_and_an_admin_verifies_it_once(platform, client, callers, tap):
    org = platform.register()
    assert org["id"] == OWN_ORG
    assert org["status"] == "pending"
    assert client.get(f"/orgs/{OWN_ORG}").get_json()["status"] == "pending"

    first = platform.verify()
    again = platform.verify()
    assert first["status"] == again["status"] == "verified"
    assert again["verified_at"] == first["verified_at"]

    updated = platform.register(name="Acme Labs Pvt Ltd")
    assert updated["name"] == "Acme Labs Pvt Ltd"
    assert updated["status"] == "verified"  # updating the profile keeps the verification

    events = tap.read(2)
    assert [e["type"] for e in events] == ["stint.org.registered.v1", "stint.org.verified.v1"]
    assert events[0]["data"]["contact_email"] == "hr@acme.example"
    assert events[0]["subject"] == OWN_ORG


def test_a_published_listing_is_found_by_students_and_a_draft_is_not(platform, client, verified_org):
    draft = platform.create(title="Secret draft about kotlin")
    listing = platform.published_listing(title="Design a Kotlin app")
    assert draft["status"] == "draft"
    assert listing["status"] == "published"
    assert listing["org_name"] == "Acme Labs"
    assert listing["seats_left"] == 2
    assert listing["open_for_applications"] is True

    found = platform.search(q="kotlin")
    assert [item["id"] for item in found["items"]] == [listing["id"]]
    assert found["next_cursor"] is None
    assert client.get(f"/listings/{draft['id']}").status_code == 404
    assert client.get(f"/listings/{listing['id']}").get_json()["seats_left"] == 2


def test_search_matches_every_word_and_every_filter(platform, verified_org):
    python = platform.published_listing(
        title="Clean a sales dataset",
        skills=["Python", "Pandas"],
        category="Data",
        stipend={"amount": "20000"},
        duration_days=20,
    )
    design = platform.published_listing(
        title="Redesign the onboarding screens",
        summary="Figma prototypes for our mobile app",
        skills=["Figma"],
        category="Design",
        stipend={"amount": "5000"},
        duration_days=7,
    )

    def ids(**query):
        return [item["id"] for item in platform.search(**query)["items"]]

    assert ids(q="SALES dataset") == [python["id"]]
    assert ids(q="sales figma") == []
    assert ids(q="pandas") == [python["id"]]  # skills are searched too
    assert ids(skill="figma") == [design["id"]]
    assert ids(category="data") == [python["id"]]
    assert ids(min_stipend="10000") == [python["id"]]
    assert ids(max_days=10) == [design["id"]]
    assert ids(currency="USD") == []
    assert ids() == [design["id"], python["id"]]  # newest first


def test_search_pages_walk_every_listing_once_newest_first(platform, verified_org):
    published = [platform.published_listing(title=f"Stint number {n}")["id"] for n in range(5)]
    seen, cursor = [], None
    while True:
        page = platform.search(limit=2, **({"cursor": cursor} if cursor else {}))
        assert len(page["items"]) <= 2
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(published))


def test_a_search_shows_each_listing_as_reading_it_does_and_shows_an_edit_at_once(
    platform, client, callers, verified_org
):
    listing = platform.published_listing(title="Stint shown by search")
    for _ in range(2):  # the second answer comes from what the first one dumped
        assert platform.search(q="shown")["items"] == [client.get(f"/listings/{listing['id']}").get_json()]
    edited = client.patch(f"/listings/{listing['id']}", json={"seats": 5}, headers=callers["employer"])
    assert edited.status_code == 200, edited.get_json()
    found = platform.search(q="shown")["items"]
    assert [item["seats_left"] for item in found] == [5]
    assert found == [client.get(f"/listings/{listing['id']}").get_json()]


def test_an_employer_lists_their_own_drafts_and_published_listings(platform, client, callers, verified_org):
    draft = platform.create()
    listing = platform.published_listing()
    response = client.get("/listings?mine=1", headers=callers["employer"])
    assert [item["id"] for item in response.get_json()["items"]] == [listing["id"], draft["id"]]
    assert client.get("/listings?mine=1", headers=callers["other_employer"]).get_json()["items"] == []


def test_editing_a_published_listing_announces_the_new_version(platform, client, callers, verified_org, tap):
    listing = platform.published_listing()
    response = client.patch(
        f"/listings/{listing['id']}", json={"title": "Build an invoice parser in Rust"}, headers=callers["employer"]
    )
    assert response.status_code == 200
    edited = response.get_json()
    assert edited["version"] == listing["version"] + 1
    assert [item["id"] for item in platform.search(q="rust")["items"]] == [listing["id"]]

    tap.read(4)  # registered, verified, published, updated
    assert tap.of(listing["id"]) == [
        ("stint.listing.published.v1", listing["version"]),
        ("stint.listing.updated.v1", edited["version"]),
    ]
    updated = tap.last(listing["id"])["data"]
    assert updated["title"] == "Build an invoice parser in Rust"
    assert updated["org_name"] == "Acme Labs"
    assert updated["org_status"] == "verified"


def test_editing_a_draft_announces_nothing(platform, client, callers, verified_org, tap):
    draft = platform.create()
    response = client.patch(f"/listings/{draft['id']}", json={"seats": 5}, headers=callers["employer"])
    assert response.get_json()["seats"] == 5
    tap.read(2)
    assert tap.flush() == 0
    assert tap.of(draft["id"]) == []


def test_closing_a_listing_hides_it_from_search_and_announces_it_once(platform, client, callers, verified_org, tap):
    listing = platform.published_listing()
    url = f"/listings/{listing['id']}/close"
    closed = client.post(url, headers=callers["employer"]).get_json()
    assert closed["status"] == "closed"
    assert closed["closed_reason"] == "closed_by_owner"
    assert client.post(url, headers=callers["employer"]).status_code == 200  # closing again is harmless
    assert platform.search()["items"] == []
    assert client.get(f"/listings/{listing['id']}").get_json()["status"] == "closed"

    patch = client.patch(f"/listings/{listing['id']}", json={"seats": 3}, headers=callers["employer"])
    assert patch.status_code == 409
    assert patch.get_json()["error"]["code"] == "listing_closed"

    tap.read(4)
    assert [kind for kind, _ in tap.of(listing["id"])] == ["stint.listing.published.v1", "stint.listing.closed.v1"]
    assert tap.last(listing["id"])["data"]["closed_reason"] == "closed_by_owner"


def test_publishing_needs_a_verified_organisation_and_a_future_deadline(platform, client, callers, db):
    platform.register()
    listing = platform.create()
    response = client.post(f"/listings/{listing['id']}/publish", headers=callers["employer"])
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "org_not_verified"

    platform.verify()
    db.listings.update_one({"_id": listing["id"]}, {"$set": {"apply_by": datetime.now(UTC) - timedelta(hours=1)}})
    response = client.post(f"/listings/{listing['id']}/publish", headers=callers["employer"])
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "apply_by_passed"


def test_a_listing_past_its_deadline_leaves_search_at_once_and_the_job_closes_it(platform, db, verified_org, tap):
    listing = platform.published_listing()
    still_open = platform.published_listing()
    # Time passes: the first listing's deadline is now behind us (written through the store, which enters it
    # under its new deadline day as it does for any deadline set).
    stored = store.find_listing(db, listing["id"])
    assert store.update_listing(db, stored, {"apply_by": datetime.now(UTC) - timedelta(seconds=1)}, [])
    assert [item["id"] for item in platform.search()["items"]] == [still_open["id"]]

    assert handlers.close_expired_listings(db) == 1
    assert handlers.close_expired_listings(db) == 0
    assert db.listings.find_one({"_id": listing["id"]})["closed_reason"] == "deadline"

    tap.read(5)  # registered, verified, 2 published, closed
    assert [kind for kind, _ in tap.of(listing["id"])] == ["stint.listing.published.v1", "stint.listing.closed.v1"]
    assert [kind for kind, _ in tap.of(still_open["id"])] == ["stint.listing.published.v1"]


def test_renaming_the_organisation_reaches_its_published_listings(platform, verified_org, tap):
    listing = platform.published_listing()
    platform.register(name="Acme Robotics")
    assert platform.search()["items"][0]["org_name"] == "Acme Robotics"
    tap.read(4)
    assert tap.last(listing["id"])["type"] == "stint.listing.updated.v1"
    assert tap.last(listing["id"])["data"]["org_name"] == "Acme Robotics"
    assert tap.of(listing["id"])[-1][1] == listing["version"] + 1
