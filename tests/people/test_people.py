"""Faces grouped into persons: as they are indexed, re-clustered, changed by an analyst, and forgotten."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest

from cli_process import run_cli
from lookingglass import people
from lookingglass.app import build
from lookingglass.errors import NotFound
from lookingglass.people.clustering import Rule, cluster, pairwise
from lookingglass.people.erasure import erase_person
from lookingglass.pipeline.forget import forget_object_now
from lookingglass.pipeline.index import store_faces_now
from lookingglass.pipeline.submit import ingest_file
from lookingglass.records import FacePoint
from lookingglass.settings import Settings
from redis_server import RedisServer, redis_available

OBAMA = ("obama.jpg", "obama2.jpg", "obama3.jpg")


def persons(app) -> list[people.Person]:
    return sorted(people.store_of(app).all(), key=lambda p: -len(p.faces))


def test_three_photos_of_one_man_become_one_person_and_another_man_waits(app, test_images):
    for name in (*OBAMA, "biden.jpg"):
        ingest_file(app, test_images / name)

    found = persons(app)
    assert [len(p.faces) for p in found] == [3]  # biden alone has no support yet: unassigned, retried later
    marked = {h.payload["sha256"] for h in app.faces.scroll({"person_id": found[0].id}, limit=10)}
    assert marked == set(found[0].objects)


def test_reingesting_changes_nothing(app, test_images):
    for name in OBAMA:
        ingest_file(app, test_images / name)
    before = [(p.id, p.members()) for p in persons(app)]

    ingest_file(app, test_images / "obama.jpg")
    people.cluster(app, full=False)

    assert [(p.id, p.members()) for p in persons(app)] == before


def test_full_reclustering_keeps_the_person_id_and_name(app, test_images):
    for name in OBAMA:
        ingest_file(app, test_images / name)
    person = persons(app)[0]
    people.update(app, person.id, name="Barack Obama")

    report = people.cluster(app, full=True)

    assert report["persons"] == 1 and report["kept"] == 1
    again = persons(app)[0]
    assert (again.id, again.name, set(again.faces)) == (person.id, "Barack Obama", set(person.faces))


def test_forgetting_photos_removes_their_faces_and_then_the_person(app, test_images):
    shas = [ingest_file(app, test_images / name)["sha256"] for name in OBAMA]
    person = persons(app)[0]

    forget_object_now(app, shas[0])
    assert set(persons(app)[0].objects) == set(shas[1:])

    forget_object_now(app, shas[1])
    forget_object_now(app, shas[2])
    assert persons(app) == []
    assert people.store_of(app).get(person.id) is None


def test_erased_faces_leave_their_person_and_an_opted_out_face_never_joins_one(app, test_images):
    shas = [ingest_file(app, test_images / name)["sha256"] for name in OBAMA]
    query = (test_images / "obama.jpg").read_bytes()
    face_of = {p.payload["sha256"]: p.id for p in app.faces.iter_points()}

    erase_person(app, query, [face_of[shas[2]]])
    (person,) = persons(app)
    assert set(person.objects) == set(shas[:2])

    # The opt-out erases one face; the admin leaves the other two indexed, but they match the opt-out.
    ingest_file(app, test_images / OBAMA[2])
    assert len(persons(app)[0].faces) == 3
    erase_person(app, query, [face_of[shas[0]]], opt_out=True)
    assert persons(app) == [] and people.store_of(app).get(person.id) is None
    assert [p.payload.get("person_id") for p in app.faces.iter_points()] == [None, None]

    people.cluster(app, full=True)
    people.cluster(app, full=False)
    ingest_file(app, test_images / OBAMA[0])  # refused by the opt-out as it is stored
    assert persons(app) == []


def test_two_faces_of_one_photo_never_join_one_person():
    same = np.array([[1.0, 0.0], [0.99, 0.14]], np.float32)  # as close as two faces get
    one_photo = [frozenset({"a:0"}), frozenset({"a:0"})]
    two_photos = [frozenset({"a:0"}), frozenset({"b:0"})]

    assert list(cluster(same, one_photo, Rule(0.3, 1))) == [0, 1]
    assert list(cluster(same, two_photos, Rule(0.3, 1))) == [0, 0]


def test_an_analysts_groups_stay_together_and_apart_whatever_the_distance():
    vectors = np.array([[1.0, 0.0], [1.0, 0.02], [0.0, 1.0], [1.0, -0.01]], np.float32)
    photos = [frozenset({f"{i}:0"}) for i in range(4)]
    rule = Rule(0.1, 2)

    assert list(cluster(vectors, photos, rule)) == [0, 0, -1, 0]
    # 0 and 1 told apart, 2 put with 1 by hand; 3 is free and joins its nearest.
    assert list(cluster(vectors, photos, rule, groups=[0, 1, 1, -1])) == [0, 1, 1, 0]


def test_full_reclustering_keeps_an_analysts_splits_merges_and_names(app, test_images):
    shas = {name: ingest_file(app, test_images / name)["sha256"] for name in OBAMA}
    (person,) = persons(app)
    people.update(app, person.id, name="Barack Obama")
    face3 = next(f for f, sha in person.members().items() if sha == shas["obama3.jpg"])

    other = people.split(app, person.id, [face3])  # the analyst says obama3 is someone else
    people.update(app, other.id, name="Not Obama")
    people.cluster(app, full=True)

    again = {p.id: (p.name, sorted(p.objects)) for p in persons(app)}
    assert again == {
        person.id: ("Barack Obama", sorted([shas["obama.jpg"], shas["obama2.jpg"]])),
        other.id: ("Not Obama", [shas["obama3.jpg"]]),
    }

    people.merge(app, person.id, [other.id])  # and then changes their mind
    people.cluster(app, full=True)
    assert [(p.id, p.name, len(p.faces)) for p in persons(app)] == [(person.id, "Barack Obama", 3)]

    ingest_file(app, test_images / "obama_partial_face.jpg")  # a named person still gains new faces
    people.cluster(app, full=True)
    assert [(p.id, len(p.faces)) for p in persons(app)] == [(person.id, 4)]


def test_pairwise_scores_count_pairs():
    scores = pairwise([0, 0, 1, -1], ["a", "a", "a", "b"])
    assert (scores.precision, round(scores.recall, 3), scores.unassigned) == (1.0, 0.333, 1)


def test_dlibs_bald_guys_come_out_as_four_persons(app, faces_dir):
    # One file, 24 portraits of 4 men: a collage, whose faces may be one person (people.COLLAGE_MIN_FACES).
    assert ingest_file(app, faces_dir / "dlib_examples_faces" / "bald_guys.jpg")["faces"] == 24

    assert sorted(len(p.faces) for p in persons(app)) == [6, 6, 6, 6]  # as they were indexed
    people.cluster(app, full=True)
    assert sorted(len(p.faces) for p in persons(app)) == [6, 6, 6, 6]  # and all again


def test_a_photo_with_a_few_faces_keeps_them_apart_and_a_collage_does_not():
    def face(i: int, sha: str) -> FacePoint:
        return FacePoint(f"{sha}-{i}", np.array([1.0, 0.0], np.float32), {"sha256": sha, "kind": "image"})

    group = people.observations([face(i, "g") for i in range(people.COLLAGE_MIN_FACES - 1)])
    collage = people.observations([face(i, "c") for i in range(people.COLLAGE_MIN_FACES)])

    assert len({photo for o in group for photo in o.photos}) == 1  # one picture: its faces are never one person
    assert not any(o.collage for o in group)
    assert len({photo for o in collage for photo in o.photos}) == people.COLLAGE_MIN_FACES  # a picture each
    assert all(o.collage for o in collage)


def test_operations_through_http(app, analyst_client, test_images):
    for name in (*OBAMA, "biden.jpg", "biden.jpg"):
        ingest_file(app, test_images / name)
    listed = analyst_client.get("/people").get_json()["people"]
    assert [(p["faces"], p["name"], p["suggestions"]) for p in listed] == [(3, None, [])]
    pid = listed[0]["id"]

    shown = analyst_client.get(f"/people/{pid}").get_json()
    assert len(shown["faces"]) == 3 and shown["entity"] is None
    face = shown["faces"][0]
    assert set(face) == {"face_id", "sha256", "kind", "box", "timestamp", "source_url", "page_url"}

    named = analyst_client.post(f"/people/{pid}/name", json={"name": "Barack Obama"}).get_json()
    assert named["name"] == "Barack Obama"
    assert analyst_client.get("/people", query_string={"q": "obama"}).get_json()["people"][0]["id"] == pid
    assert analyst_client.get("/people", query_string={"show": "unnamed"}).get_json()["people"] == []

    new = analyst_client.post(f"/people/{pid}/split", json={"face_ids": [face["face_id"]]}).get_json()
    assert new["faces"] == 1 and new["name"] is None
    merged = analyst_client.post(f"/people/{pid}/merge", json={"others": [new["id"]]}).get_json()
    assert merged["faces"] == 3
    assert analyst_client.get(f"/people/{new['id']}").status_code == 404

    analyst_client.post(f"/people/{pid}/hide")
    assert analyst_client.get("/people").get_json()["people"] == []
    assert analyst_client.get("/people", query_string={"show": "hidden"}).get_json()["people"][0]["id"] == pid
    actions = {e.action for e in app.audit.entries()}
    assert {"name_person", "split_person", "merge_people", "hide_person"} <= actions


def test_a_person_shows_names_from_the_evidence_and_a_confirmed_name_joins_the_graph(
    app, analyst_client, test_images, tmp_path
):
    from lookingglass.text.names import canonical_key, entity_id

    shas = []
    for i, name in enumerate(OBAMA):  # the file names are the evidence here: "mara_lindqvist.jpg"
        (tmp_path / str(i)).mkdir()
        named_file = tmp_path / str(i) / "mara_lindqvist.jpg"
        named_file.write_bytes((test_images / name).read_bytes())
        shas.append(ingest_file(app, named_file)["sha256"])
    (person,) = analyst_client.get("/people").get_json()["people"]

    shown = analyst_client.get(f"/people/{person['id']}").get_json()
    first = shown["suggestions"][0]
    assert first["name"] == "Mara Lindqvist" and {e["kind"] for e in first["evidence"]} == {"filename"}
    assert shown["name"] is None  # a suggestion is never applied by itself

    analyst_client.post(f"/people/{person['id']}/name", json={"name": "Mara Lindqvist"})
    linked = analyst_client.get(f"/people/{person['id']}").get_json()["entity"]
    eid = entity_id("PERSON", canonical_key("Mara Lindqvist", "PERSON"))
    assert (linked["id"], linked["name"], linked["type"]) == (eid, "Mara Lindqvist", "PERSON")
    assert [d["id"] for d in app.graph.documents_for(eid)] == [f"person:{person['id']}"]
    (named,) = analyst_client.get(f"/entities/{eid}").get_json()["persons"]  # the entity page shows their faces
    assert (named["id"], named["name"], named["faces"]) == (person["id"], "Mara Lindqvist", 3)
    assert sorted(f["sha256"] for f in named["shown"]) == sorted(shas)

    for sha in shas:  # the person goes with their last face, and so does the graph's link to the name
        forget_object_now(app, sha)
    assert analyst_client.get(f"/people/{person['id']}").status_code == 404
    with pytest.raises(NotFound):  # the name was only ever linked to this person: nothing of it is left
        app.graph.entity(eid)


def _lookup(client, path: Path, **fields):
    with path.open("rb") as handle:
        body = {"image": (handle, path.name), **fields}
        return client.post("/lookup", data=body, content_type="multipart/form-data").get_json()


def test_lookup_says_whose_face_matched_and_groups_matches_by_person(app, analyst_client, test_images):
    for name in (*OBAMA, "biden.jpg"):
        ingest_file(app, test_images / name)
    pid = persons(app)[0].id
    people.update(app, pid, name="Barack Obama")
    obama = {"id": pid, "name": "Barack Obama"}

    (face,) = _lookup(analyst_client, test_images / "obama.jpg", threshold="-1")["faces"]
    assert [m["person"] for m in face["matches"]] == [obama, obama, obama, None]  # biden: no person yet

    (face,) = _lookup(analyst_client, test_images / "obama.jpg", threshold="-1", group="person")["faces"]
    assert [(m["person"], m["grouped"]) for m in face["matches"]] == [(obama, 3), (None, 1)]
    assert face["matches"][0]["score"] > 0.99  # the person's best match stands for it


def test_operations_through_the_command_line(tmp_path, test_images):
    data = tmp_path / "data"
    for name in OBAMA:
        assert run_cli(data, "ingest", "--quiet", str(test_images / name)).returncode == 0
    listed = json.loads(run_cli(data, "people", "list", "--json").stdout)
    pid = listed["people"][0]["id"]
    assert listed["people"][0]["faces"] == 3

    assert run_cli(data, "people", "name", pid, "Barack Obama").returncode == 0
    shown = json.loads(run_cli(data, "people", "show", pid, "--json").stdout)
    assert shown["name"] == "Barack Obama" and len(shown["faces"]) == 3
    report = json.loads(run_cli(data, "people", "cluster", "--full", "--json").stdout)
    assert report["persons"] == 1 and report["kept"] == 1

    found = json.loads(run_cli(data, "lookup", "--by-person", "--json", str(test_images / "obama.jpg")).stdout)
    (match,) = found["faces"][0]["matches"]
    assert (match["person"], match["grouped"]) == ({"id": pid, "name": "Barack Obama"}, 3)
    assert "[Barack Obama]" in run_cli(data, "lookup", str(test_images / "obama.jpg")).stdout


@pytest.mark.skipif(not redis_available(), reason="redis-server not installed")
def test_two_workers_indexing_one_new_person_at_once_create_one_person(tmp_path, models, test_images):
    """Each worker holds its own connection to a real Redis; the lock is Redis's, as across worker processes."""
    server = RedisServer(tmp_path / "redis").start()
    try:
        settings = Settings(data_dir=tmp_path / "data", redis_url=server.url)
        app = build(settings)
        app._models = models
        done = []
        results = {}
        for name in OBAMA:
            sha = ingest_file(app, test_images / name)["sha256"]
            results[sha] = app.faces.scroll({"sha256": sha}, limit=10)
        points = {
            sha: [
                {"id": p.id, "vector": v.vector, "payload": p.payload}
                for p, v in ((h, app.faces.points([h.id])[0]) for h in hits)
            ]
            for sha, hits in results.items()
        }
        for sha in points:  # start again from nothing: no persons, faces not indexed
            forget_faces = app.faces.delete_where("sha256", sha)
            assert forget_faces == 1
        for person in people.store_of(app).all():
            app.persons.delete_ids([person.id])

        def worker(sha: str) -> None:
            other = build_queue_twin(settings)
            try:
                store_faces_now(app_with_queue(app, other), sha, "sface", points[sha])
                done.append(sha)
            finally:
                other.close()

        threads = [threading.Thread(target=worker, args=(sha,)) for sha in points]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert len(done) == 3
        assert [len(p.faces) for p in persons(app)] == [3]
        app.close()
    finally:
        server.stop()


def build_queue_twin(settings: Settings):
    from lookingglass.pipeline.queue import RQQueue

    return RQQueue(settings.redis_url)


def app_with_queue(app, queue):
    from dataclasses import replace

    return replace(app, queue=queue)


@pytest.mark.skipif(not redis_available(), reason="redis-server not installed")
def test_the_daily_reclustering_taken_by_a_worker_without_the_faces_runs_in_the_owner(tmp_path, models, test_images):
    """Embedded stores behind Redis: the face index is the owner's files, so a maintenance worker hands the job to
    the owner's `index` consumer, as it does the embedded writes."""
    from lookingglass.app import build_worker, use
    from lookingglass.pipeline.worker import LookingGlassWorker

    server = RedisServer(tmp_path / "redis").start()
    try:
        settings = Settings(data_dir=tmp_path / "data", redis_url=server.url)
        owner = build(settings)
        owner._models = models
        for name in OBAMA:
            ingest_file(owner, test_images / name)
        for person in people.store_of(owner).all():  # start from faces without persons
            people.store_of(owner).delete(person.id)
        worker = build_worker(settings)
        assert worker.faces is None

        use(worker)
        handed = people.recluster()
        assert "handed_to_owner" in handed and persons(owner) == []

        use(owner)
        LookingGlassWorker(["index"], connection=owner.queue.connection).work(burst=True, logging_level="WARNING")
        assert [len(p.faces) for p in persons(owner)] == [3]
        worker.close()
        owner.close()
    finally:
        use(None)  # jobs in this process build their own App again
        server.stop()
