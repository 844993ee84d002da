"""``edgefer data prepare`` on a generated set of a user's own photos and a video, through the
real face stage; the CSV and folder readers, the skip report, label order and subject splits."""

import csv
import json
import os

import numpy as np
import pytest
from helpers import OWN_LABELS, OWN_PEOPLE, assert_one_line_error, edgefer_without_tensorflow, listing, write_own_photos

from edgefer.core.errors import EdgeferError
from edgefer.data.datasets import load_dataset
from edgefer.data.prepare import PrepareOptions, prepare
from edgefer.data.subjects import shared_subjects, subject_folds, subject_holdout

PEOPLE = r"^([a-z]+)_"


@pytest.fixture
def own_photos(tmp_path):
    return write_own_photos(str(tmp_path / "photos"))


def manifest_rows(folder):
    with open(os.path.join(folder, "manifest.csv"), newline="") as f:
        return list(csv.DictReader(f))


def test_folders_of_photos_and_a_video_become_face_crops(own_photos, tmp_path):
    before = listing(own_photos)
    out = str(tmp_path / "dataset")
    report = prepare(own_photos, out, PrepareOptions(subject_pattern=PEOPLE, fps=2))
    assert listing(own_photos) == before  # SRC untouched
    files = sum(len(names) for _, _, names in os.walk(own_photos))
    assert report["inputs"] == len(report["files"]) == files  # every input accounted for
    assert report["skipped"] == {"no face": 1, "not a photo or video": 1, "unreadable file": 1}
    rows = manifest_rows(out)
    photos = [r for r in rows if r["source"].endswith(".jpg")]
    clip = [r for r in rows if r["source"].endswith(".avi")]
    assert len(photos) == len(OWN_LABELS) * len(OWN_PEOPLE) * 2
    assert [int(r["frame"]) for r in clip] == [0, 5]  # 10 fps sampled at 2 per second
    assert {r["subject"] for r in rows} == set(OWN_PEOPLE)
    assert all(r["detector"].startswith("blazeface") and float(r["score"]) > 0.5 for r in rows)
    dataset = load_dataset(out)
    assert dataset.labels == sorted(OWN_LABELS) and dataset.prepared
    assert dataset.split("train").images.shape == (len(rows), 48, 48)
    info = json.load(open(os.path.join(out, "dataset.json")))
    assert info["counts"] == {label: sum(r["label"] == label for r in rows) for label in sorted(OWN_LABELS)}


def test_the_same_source_gives_the_same_dataset(own_photos, tmp_path):
    first, second = str(tmp_path / "a"), str(tmp_path / "b")
    prepare(own_photos, first, PrepareOptions(subject_pattern=PEOPLE))
    prepare(own_photos, second, PrepareOptions(subject_pattern=PEOPLE))
    assert listing(first) == listing(second)
    for name in listing(first):
        path = os.path.join(first, name)
        if os.path.isfile(path) and name != "report.json":  # the report names its own source only
            assert open(path, "rb").read() == open(os.path.join(second, name), "rb").read(), name


def test_colour_crops_at_another_size(own_photos, tmp_path):
    out = str(tmp_path / "rgb")
    prepare(own_photos, out, PrepareOptions(size=64, color="rgb"))
    images = load_dataset(out).split("train").images
    assert images.shape[1:] == (64, 64, 3)
    assert np.abs(images[..., 0].astype(int) - images[..., 2]).mean() > 2  # colour kept, not grey copies


def test_a_csv_with_renamed_columns_label_order_and_dropped_labels(own_photos, tmp_path):
    table = tmp_path / "labels.csv"
    rows = [("engaged/ann_0.jpg", "engaged", "p1"), ("engaged/bob_0.jpg", "engaged", "p2"),
            ("confused/ann_0.jpg", "confused", "p1"), ("bored/bob_1.jpg", "bored", "p2"),
            ("bored/ann_1.jpg", "sleepy", "p1"), ("bored/missing.jpg", "bored", "p3")]
    with open(table, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["image", "emotion", "person"])
        writer.writerows((os.path.join(os.path.relpath(own_photos, tmp_path), p), label, who) for p, label, who in rows)
    out = str(tmp_path / "from-csv")
    options = PrepareOptions(labels=("engaged", "bored"), columns={"label": "emotion", "subject": "person"})
    report = prepare(str(table), out, options)
    assert report["skipped"] == {"missing file": 1, "unknown label": 2}  # confused is dropped, sleepy unknown
    dataset = load_dataset(out)
    assert dataset.labels == ["engaged", "bored"]
    assert [r["subject"] for r in manifest_rows(out)] == ["p1", "p2", "p2"]


def test_refusals_leave_nothing_behind(own_photos, tmp_path):
    with pytest.raises(EdgeferError, match="outside SRC"):
        prepare(own_photos, os.path.join(own_photos, "dataset"))
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "keep.txt").write_text("mine")
    with pytest.raises(EdgeferError, match="already exists"):
        prepare(own_photos, str(taken))
    assert listing(str(taken)) == {"keep.txt": 4}
    table = tmp_path / "bad.csv"
    table.write_text("file,feeling\nx.jpg,happy\n")
    with pytest.raises(EdgeferError, match="--column label=NAME"):
        prepare(str(table), str(tmp_path / "never"))
    assert not (tmp_path / "never").exists()
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".")]  # no temporary folder left


def test_the_command_works_without_tensorflow_and_says_what_it_skipped(own_photos, tmp_path):
    out = str(tmp_path / "cli")
    result = edgefer_without_tensorflow("data", "prepare", own_photos, "--out", out, "--subject-pattern", PEOPLE)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "3 skipped (1 no face; 1 not a photo or video; 1 unreadable file)" in result.stderr
    assert json.loads(result.stdout)["faces"] == len(manifest_rows(out))
    bad = edgefer_without_tensorflow("data", "prepare", own_photos, "--out", str(tmp_path / "x"),
                                     "--column", "colour=red")
    assert bad.returncode == 2 and "ROLE=COLUMN" in bad.stderr
    missing = edgefer_without_tensorflow("data", "prepare", str(tmp_path / "nothing"), "--out", str(tmp_path / "y"))
    assert_one_line_error(missing, "not found")


def test_subject_folds_keep_each_person_on_one_side():
    rng = np.random.default_rng(0)
    subjects = [f"p{rng.integers(0, 40)}" for _ in range(600)]
    labels = rng.integers(0, 5, 600)
    folds = subject_folds(subjects, labels, 5, seed=3)
    assert sorted(np.concatenate(folds).tolist()) == list(range(600))
    assert shared_subjects(*[[subjects[i] for i in fold] for fold in folds]) == []
    assert max(map(len, folds)) < 2 * min(map(len, folds))
    assert [f.tolist() for f in folds] == [f.tolist() for f in subject_folds(subjects, labels, 5, seed=3)]
    kept, held = subject_holdout(subjects, labels, 0.2)
    assert shared_subjects([subjects[i] for i in kept], [subjects[i] for i in held]) == []
    assert 0.1 < len(held) / 600 < 0.3
    with pytest.raises(EdgeferError, match="3 people"):
        subject_folds(["a", "b", "c"], [0, 1, 0], 5)


def test_expressions_wild_is_prepared_and_every_photo_accounted_for(real_photos, tmp_path):
    """The real set in its photos + CSV form: the report names every row's photo, SRC is untouched."""
    source = os.path.join(real_photos, "expressions-wild")
    before = listing(source)
    with open(os.path.join(source, "labels.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    report = prepare(os.path.join(source, "labels.csv"), str(tmp_path / "wild"), PrepareOptions(columns={"label": "emotion"}))
    assert listing(source) == before
    assert report["inputs"] == len(report["files"]) == len(rows) == 1638
    assert report["faces"] + sum(report["skipped"].values()) == len(rows)  # one face a photo, or a reason
    assert report["faces"] >= 1600 and set(report["skipped"]) <= {"no face"}
    dataset = load_dataset(str(tmp_path / "wild"))
    assert len(set(dataset.split("train").subjects)) > 900
