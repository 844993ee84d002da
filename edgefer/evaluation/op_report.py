"""Which ops a TFLite file holds, whether each is integer, and whether the Edge TPU can run it."""

import numpy as np

from edgefer.device.runtime import interpreter_module

# TFLite builtin ops the Edge TPU compiler maps (Coral's "supported operations" table).
EDGETPU_OPS = frozenset({
    "ADD", "AVERAGE_POOL_2D", "CONCATENATION", "CONV_2D", "DEPTHWISE_CONV_2D", "EXPAND_DIMS",
    "FULLY_CONNECTED", "L2_NORMALIZATION", "LOGISTIC", "LSTM", "MAXIMUM", "MAX_POOL_2D", "MEAN",
    "MINIMUM", "MUL", "PACK", "PAD", "PRELU", "QUANTIZE", "REDUCE_MAX", "REDUCE_MIN", "RELU",
    "RELU6", "RELU_N1_TO_1", "RESHAPE", "RESIZE_BILINEAR", "RESIZE_NEAREST_NEIGHBOR", "RSQRT",
    "SLICE", "SOFTMAX", "SPACE_TO_DEPTH", "SPLIT", "SQUARED_DIFFERENCE", "SQUEEZE",
    "STRIDED_SLICE", "SUB", "SUM", "TANH", "TRANSPOSE", "TRANSPOSE_CONV",
})
_INTEGER_TYPES = (np.int8, np.uint8, np.int16, np.int32, np.int64)


def op_report(model_path):
    """Per-op-type counts in execution order, integer and Edge TPU flags, and the first op
    that would send the rest of the graph to the CPU. Returns a JSON-ready dict."""
    module, _ = interpreter_module()
    interpreter = module.Interpreter(
        model_path=model_path,
        experimental_op_resolver_type=module.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
    )
    interpreter.allocate_tensors()
    dtypes = {t["index"]: t["dtype"] for t in interpreter.get_tensor_details()}
    ops = interpreter._get_ops_details()  # noqa: SLF001  the only way to list ops in the Python API
    types, first_cpu = {}, None
    for position, op in enumerate(ops):
        tensors = [i for i in list(op["inputs"]) + list(op["outputs"]) if i >= 0 and i in dtypes]
        integer = all(np.issubdtype(dtypes[i], np.integer) for i in tensors)
        name = op["op_name"]
        entry = types.setdefault(name, {"count": 0, "integer": True, "edgetpu": name in EDGETPU_OPS})
        entry["count"] += 1
        entry["integer"] = entry["integer"] and integer
        if first_cpu is None and not (name in EDGETPU_OPS and integer):
            first_cpu = {"index": position, "op": name, "reason": "float tensors" if not integer else "not on the Edge TPU list"}
    return {"ops": len(ops), "types": types, "all_integer": all(t["integer"] for t in types.values()),
            "first_cpu_op": first_cpu}


def format_op_report(report):
    """The op report as a text table."""
    lines = [f"{'op':<22}{'count':>6}  {'integer':<8}{'edge tpu':<8}"]
    for name, t in report["types"].items():
        lines.append(f"{name:<22}{t['count']:>6}  {'yes' if t['integer'] else 'no':<8}{'yes' if t['edgetpu'] else 'no':<8}")
    cpu = report["first_cpu_op"]
    lines.append("whole graph can map to the Edge TPU" if cpu is None else
                 f"op {cpu['index']} of {report['ops']} ({cpu['op']}, {cpu['reason']}) and everything after it "
                 "would run on the CPU")
    return "\n".join(lines)
