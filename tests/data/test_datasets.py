import csv
import json
import os
import shutil

import cv2
import numpy as np
import pytest
from helpers import assert_one_line_error, edgefer, make_face, write_ferplus

from edgefer.core.errors import EdgeferError
from edgefer.data.datasets import FER2013_CSV_ORDER, FER2013_LABELS, FERPLUS_LABELS, load_dataset, stratified_indices


def write_csv(path, rows, header=("emotion", "pixels", "Usage")):
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return str(path)


def csv_rows(rng, per_usage=3):
    rows = []
    for usage in ("Training", "PublicTest", "PrivateTest"):
        for code in range(7):
            for _ in range(per_usage):
                rows.append((code, " ".join(map(str, make_face(rng, code).ravel())), usage))
    return rows


def test_kaggle_folders_split_by_prefix(kaggle_folders):
    dataset = load_dataset(kaggle_folders)
    assert dataset.labels == FER2013_LABELS
    assert {s: len(p) for s, p in dataset.splits.items()} == {"train": 42, "val": 14, "test": 14}
    assert all(i.startswith("PublicTest_") for i in dataset.splits["val"].ids)
    assert all(i.startswith("PrivateTest_") for i in dataset.splits["test"].ids)
    assert dataset.splits["train"].images.shape == (42, 48, 48)
    assert dataset.splits["train"].images.dtype == np.uint8


def test_plain_split_folders(tmp_path):
    rng = np.random.default_rng(0)
    for split in ("train", "validation", "test"):
        for c, label in enumerate(FER2013_LABELS[:3]):
            os.makedirs(tmp_path / split / label)
            cv2.imwrite(str(tmp_path / split / label / f"{split}{c}.png"), make_face(rng, c))
    dataset = load_dataset(str(tmp_path))
    assert dataset.counts()["val"] == {"angry": 1, "disgust": 1, "fear": 1, "happy": 0, "neutral": 0, "sad": 0, "surprise": 0}


def test_csv_maps_challenge_label_order(tmp_path):
    rng = np.random.default_rng(0)
    rows = csv_rows(rng)
    dataset = load_dataset(write_csv(tmp_path / "fer2013.csv", rows))
    train = dataset.splits["train"]
    assert len(train) == 21 and len(dataset.splits["val"]) == 21 and len(dataset.splits["test"]) == 21
    # challenge code 4 is sad, 6 is neutral: both must land on our names
    for row, label in zip(rows[:21], train.labels):
        assert FER2013_LABELS[label] == FER2013_CSV_ORDER[row[0]]
    first = np.array(rows[0][1].split(), dtype=np.uint8).reshape(48, 48)
    assert np.array_equal(train.images[0], first)


def test_folder_holding_the_csv_is_found(tmp_path):
    write_csv(tmp_path / "fer2013.csv", csv_rows(np.random.default_rng(1), per_usage=1))
    assert load_dataset(str(tmp_path)).name == "fer2013"


def test_ferplus_majority_plurality_and_probability(tmp_path):
    root = write_ferplus(str(tmp_path / "ferplus"), np.random.default_rng(0))
    majority = load_dataset(root)
    assert majority.labels == FERPLUS_LABELS and len(FERPLUS_LABELS) == 8
    train = majority.splits["train"]
    assert [FERPLUS_LABELS[i] for i in train.labels] == ["happy", "contempt", "neutral"]
    assert train.ids == ["fer0000000", "fer0000001", "fer0000004"] and train.soft is None
    plurality = load_dataset(root, ferplus_mode="plurality").splits["train"]
    assert [FERPLUS_LABELS[i] for i in plurality.labels] == ["happy", "contempt", "neutral", "neutral"]
    assert plurality.ids == ["fer0000000", "fer0000001", "fer0000003", "fer0000004"] and plurality.soft is None
    probability = load_dataset(root, ferplus_mode="probability").splits["train"]
    assert probability.ids == plurality.ids and probability.soft.shape == (4, 8)
    assert np.allclose(probability.soft.sum(axis=1), 1.0)
    assert probability.soft[0, FERPLUS_LABELS.index("happy")] == pytest.approx(0.8)
    assert probability.soft[1, FERPLUS_LABELS.index("contempt")] == pytest.approx(6 / 7)


def test_ferplus_seven_drops_contempt_and_uses_fer2013_labels(tmp_path):
    root = write_ferplus(str(tmp_path / "ferplus"), np.random.default_rng(0))
    seven = load_dataset(root, ferplus_mode="seven")
    assert seven.labels == FER2013_LABELS
    train = seven.splits["train"]
    assert [FER2013_LABELS[i] for i in train.labels] == ["happy", "neutral"]
    assert train.ids == ["fer0000000", "fer0000004"] and train.soft is None
    majority = load_dataset(root).splits["train"]
    assert np.array_equal(train.images, majority.images[[0, 2]])


def test_stratified_subset_keeps_class_shares():
    labels = np.array([0] * 700 + [1] * 200 + [2] * 100)
    picked = stratified_indices(labels, 100, seed=3)
    assert len(picked) == 100 and len(set(picked)) == 100
    assert np.bincount(labels[picked]).tolist() == [70, 20, 10]


@pytest.mark.parametrize("case, fragment", [
    ("wrong_columns", "expected columns emotion,pixels,Usage"),
    ("short_pixels", "pixels has 2303 values, expected 2304"),
    ("not_an_image", "not an image file"),
    ("corrupt_image", "not a readable image"),
    ("unknown_class", "unknown class folder 'bored'"),
    ("empty_split", "split 'val' has no images"),
    ("missing", "dataset not found"),
])
def test_bad_input_gives_one_line_error(tmp_path, kaggle_folders, case, fragment):
    if case == "wrong_columns":
        path = write_csv(tmp_path / "bad.csv", [(0, "1 2 3", "Training")], header=("label", "image", "split"))
    elif case == "short_pixels":
        path = write_csv(tmp_path / "short.csv", [(0, " ".join(["7"] * 2303), "Training")])
    elif case == "not_an_image":
        (tmp_path / "fer2013" / "train" / "happy" / "notes.txt").write_text("hello")
        path = kaggle_folders
    elif case == "corrupt_image":
        (tmp_path / "fer2013" / "train" / "happy" / "Training_broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
        path = kaggle_folders
    elif case == "unknown_class":
        os.makedirs(tmp_path / "fer2013" / "train" / "bored")
        path = kaggle_folders
    elif case == "empty_split":
        for label in FER2013_LABELS:
            for name in os.listdir(tmp_path / "fer2013" / "test" / label):
                if name.startswith("PublicTest_"):
                    os.remove(tmp_path / "fer2013" / "test" / label / name)
        path = kaggle_folders
    else:
        path = str(tmp_path / "nowhere")
    with pytest.raises(EdgeferError, match=fragment):
        load_dataset(path)
    assert_one_line_error(edgefer("data", "inspect", path, "--out", str(tmp_path / "inspect")), fragment)


def test_inspect_writes_figures_and_json(tmp_path, kaggle_folders):
    out = tmp_path / "inspect"
    result = edgefer("data", "inspect", kaggle_folders, "--out", str(out), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["counts"]["train"]["happy"] == 6
    assert report["totals"] == {"train": 42, "val": 14, "test": 14}
    # generated images of one class share a pattern but not their noise: no duplicates
    assert report["duplicates"] == {"val_in_train": 0, "test_in_train": 0, "test_in_val": 0}
    assert (out / "class_balance.png").stat().st_size > 1000 and (out / "samples.png").stat().st_size > 1000


def test_inspect_counts_duplicates(tmp_path, kaggle_folders):
    src = tmp_path / "fer2013" / "train" / "happy"
    first = sorted(os.listdir(src))[0]
    os.link(src / first, tmp_path / "fer2013" / "test" / "happy" / "PrivateTest_copy.png")
    report = json.loads(edgefer("data", "inspect", kaggle_folders, "--out", str(tmp_path / "i"), "--json").stdout)
    assert report["duplicates"]["test_in_train"] == 1


def test_real_fer2013_counts_match_the_dataset_card(real_fer2013, tmp_path):
    result = edgefer("data", "inspect", real_fer2013, "--out", str(tmp_path), "--json")
    report = json.loads(result.stdout)
    assert report["counts"]["train"]["happy"] == 7215
    assert report["counts"]["val"]["disgust"] == 56
    assert report["counts"]["test"]["neutral"] == 626
    assert report["totals"] == {"train": 28709, "val": 3589, "test": 3589}
    assert report["duplicates"]["val_in_train"] > 0


def test_real_ferplus_loads_eight_classes(real_ferplus):
    dataset = load_dataset(real_ferplus, ("val",), ferplus_mode="probability")
    val = dataset.splits["val"]
    assert dataset.labels == FERPLUS_LABELS
    assert 3000 < len(val) <= 3579
    assert np.allclose(val.soft.sum(axis=1), 1.0)


def test_a_csv_with_a_byte_order_mark_loads(tmp_path):
    path = tmp_path / "fer2013.csv"
    write_csv(path, csv_rows(np.random.default_rng(2), per_usage=1))
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert len(load_dataset(str(path)).splits["train"]) == 7


def test_a_csv_saved_with_cr_cr_lf_line_ends_loads(tmp_path):
    path = tmp_path / "fer2013.csv"
    write_csv(path, csv_rows(np.random.default_rng(2), per_usage=1))
    path.write_bytes(path.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\r\n"))
    assert len(load_dataset(str(path)).splits["train"]) == 7


@pytest.mark.parametrize("content, fragment", [
    (bytes(range(256)) * 4, "not a text CSV file"),
    (b'fer0000000.png,"' + b"x" * 200_000 + b'",1,2\n', "not a readable CSV file"),
    (b'fer0000000.png,"(0, 0, 48, 48)",1,2,3,4,5,6,7,8,9,nan\n', "votes must be counts"),
])
def test_bad_ferplus_label_files_give_one_line_errors(tmp_path, content, fragment):
    root = write_ferplus(str(tmp_path / "ferplus"), np.random.default_rng(0))
    with open(os.path.join(root, "FER2013Train", "label.csv"), "wb") as f:
        f.write(content)
    with pytest.raises(EdgeferError, match=fragment):
        load_dataset(root)


def test_a_file_name_that_is_not_utf8_is_skipped_with_a_warning_naming_it(kaggle_folders, capsys):
    folder = os.path.join(kaggle_folders, "train", "happy")
    first = sorted(os.listdir(folder))[0]
    before = len(load_dataset(kaggle_folders).splits["train"])
    shutil.copy(os.path.join(folder, first), os.path.join(os.fsencode(folder), b"Training_\xff\xfe.jpg"))
    dataset = load_dataset(kaggle_folders)
    assert len(dataset.splits["train"]) == before and all(i.isprintable() for i in dataset.splits["train"].ids)
    assert "Training_\\xff\\xfe.jpg: the name is not UTF-8; skipped" in capsys.readouterr().err
