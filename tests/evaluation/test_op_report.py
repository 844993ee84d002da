from helpers import TINY_FLOAT, TINY_INT8

from edgefer.evaluation.op_report import format_op_report, op_report


def test_int8_tiny_model_is_all_integer_and_fits_the_edge_tpu():
    report = op_report(TINY_INT8)
    assert report["all_integer"] and report["first_cpu_op"] is None
    assert report["types"]["FULLY_CONNECTED"] == {"count": 1, "integer": True, "edgetpu": True}
    assert "whole graph can map to the Edge TPU" in format_op_report(report)


def test_float_tiny_model_falls_back_to_the_cpu_at_its_first_op():
    report = op_report(TINY_FLOAT)
    assert not report["all_integer"]
    assert report["first_cpu_op"]["index"] == 0 and report["first_cpu_op"]["reason"] == "float tensors"
