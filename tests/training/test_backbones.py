"""The backbone registry (no TensorFlow needed: the CLI offers its names before loading it)."""

import pytest
from helpers import edgefer_without_tensorflow

from edgefer.core.errors import EdgeferError
from edgefer.training.backbones import BACKBONES, get_backbone


@pytest.mark.parametrize("name", list(BACKBONES))
def test_every_backbone_states_its_input(name):
    backbone = get_backbone(name)
    assert backbone.name == name and backbone.image_size >= 32
    assert backbone.normalisation == {"input_range": [0, 255], "mean": backbone.mean, "scale": backbone.scale}
    assert backbone.scale > 0 and backbone.source in ("keras", "kimm")
    assert (backbone.source == "kimm") == bool(backbone.pth_package)  # offline weights for the Lite models


def test_the_cli_offers_exactly_the_registered_backbones():
    result = edgefer_without_tensorflow("train", "--help")
    assert result.returncode == 0, result.stderr
    offered = result.stdout.split("--backbone [", 1)[1].split("]", 1)[0].split("|")
    assert offered == list(BACKBONES)


def test_an_unknown_backbone_lists_the_known_ones():
    with pytest.raises(EdgeferError, match="efficientnet-lite0"):
        get_backbone("resnet50")
