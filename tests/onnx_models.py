"""Tiny ONNX models made here, of any input shape and number of outputs, for the tests that refuse them."""

import numpy as np


def onnx_file(path, input_shape, outputs):
    """A tiny ONNX model (flatten, then a matrix product) with the given input shape and outputs."""
    from onnx import TensorProto, helper, numpy_helper

    size = int(np.prod([dim for dim in input_shape[1:]]))
    weights = numpy_helper.from_array(np.zeros((size, outputs), np.float32), "weights")
    graph = helper.make_graph(
        [helper.make_node("Flatten", ["image"], ["flat"]), helper.make_node("MatMul", ["flat", "weights"], ["scores"])],
        "tiny",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", *input_shape[1:]])],
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["batch", outputs])],
        initializer=[weights],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path.write_bytes(model.SerializeToString())
    return path
