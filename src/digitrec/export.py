"""Export a trained Keras model to ONNX, so inference needs only ONNX Runtime and NumPy.

The converter walks a Sequential model (or each member of an `ensemble`, on the image at each of
its test-time shifts, then takes their mean)
layer by layer and writes the equivalent ONNX nodes with
`onnx.helper`: it covers every layer the registry uses (Conv2D, pooling, batch norm, dense,
activations, flatten, dropout) and refuses anything else by name. Keras is channels-last and
ONNX's Conv is channels-first, so the graph transposes once after the input and back before
Flatten, which keeps Keras's flatten order and so the Dense weights as they are.

The ONNX model takes "image": float32 (batch, 28, 28, 1) in [0, 1] (dynamic batch) and gives
"probabilities": float32 (batch, 10). The test suite checks it against Keras within 1e-5.
"""

from pathlib import Path

import numpy as np

from . import files
from .errors import DigitrecError

OPSET = 17
INPUT_NAME = "image"
OUTPUT_NAME = "probabilities"


class GraphBuilder:
    def __init__(self):
        self.nodes, self.initializers, self.count = [], [], 0

    def name(self, prefix):
        self.count += 1
        return f"{prefix}_{self.count}"

    def constant(self, prefix, array):
        from onnx import numpy_helper

        name = self.name(prefix)
        self.initializers.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def node(self, op_type, inputs, **attributes):
        from onnx import helper

        output = self.name(op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [output], name=output, **attributes))
        return output


def same_padding(input_size, kernel, stride):
    """ONNX pads (begin, end) that reproduce Keras/TensorFlow "same" padding for one axis."""
    output_size = -(-input_size // stride)
    total = max((output_size - 1) * stride + kernel - input_size, 0)
    return total // 2, total - total // 2


def apply_activation(graph, tensor, activation_name, layer_name):
    if activation_name in (None, "linear"):
        return tensor
    if activation_name == "relu":
        return graph.node("Relu", [tensor])
    if activation_name == "softmax":
        return graph.node("Softmax", [tensor], axis=-1)
    raise DigitrecError(f"layer {layer_name!r}: activation {activation_name!r} has no ONNX export here")


def activation_name(function):
    return getattr(function, "__name__", str(function))


def convert_layer(graph, layer, tensor, layout, spatial):
    """Append the ONNX nodes for one Keras layer; returns (tensor, layout, spatial size)."""
    kind = type(layer).__name__
    if kind in ("InputLayer", "Dropout", "SpatialDropout2D", "RandomRotation", "RandomZoom", "RandomTranslation"):
        return tensor, layout, spatial  # no-ops at inference
    if kind in ("Conv2D", "MaxPooling2D", "AveragePooling2D") and layout == "NHWC":
        tensor, layout = graph.node("Transpose", [tensor], perm=[0, 3, 1, 2]), "NCHW"
    if kind == "Conv2D":
        kernel, bias = (layer.get_weights() + [None])[:2]
        if layer.data_format != "channels_last" or tuple(layer.dilation_rate) != (1, 1) or layer.groups != 1:
            raise DigitrecError(f"layer {layer.name!r}: only channels-last, undilated, ungrouped Conv2D export")
        kh, kw = layer.kernel_size
        sh, sw = layer.strides
        pads = [0, 0, 0, 0]
        if layer.padding == "same":
            (top, bottom), (left, right) = same_padding(spatial[0], kh, sh), same_padding(spatial[1], kw, sw)
            pads = [top, left, bottom, right]
        inputs = [tensor, graph.constant("conv_kernel", kernel.transpose(3, 2, 0, 1))]  # HWIO -> OIHW
        if bias is not None and layer.use_bias:
            inputs.append(graph.constant("conv_bias", bias))
        tensor = graph.node("Conv", inputs, kernel_shape=[kh, kw], strides=[sh, sw], pads=pads)
        spatial = tuple((s + pads[i] + pads[i + 2] - k) // st + 1 for i, (s, k, st) in enumerate(zip(spatial, (kh, kw), (sh, sw))))
        return apply_activation(graph, tensor, activation_name(layer.activation), layer.name), layout, spatial
    if kind in ("MaxPooling2D", "AveragePooling2D"):
        ph, pw = layer.pool_size
        sh, sw = layer.strides
        if layer.padding != "valid":
            raise DigitrecError(f"layer {layer.name!r}: only 'valid' pooling export")
        op = "MaxPool" if kind == "MaxPooling2D" else "AveragePool"
        tensor = graph.node(op, [tensor], kernel_shape=[ph, pw], strides=[sh, sw])
        spatial = tuple((s - p) // st + 1 for s, p, st in zip(spatial, (ph, pw), (sh, sw)))
        return tensor, layout, spatial
    if kind == "BatchNormalization":
        from keras import ops

        size = layer.moving_mean.shape
        gamma = ops.convert_to_numpy(layer.gamma) if layer.scale else np.ones(size)
        beta = ops.convert_to_numpy(layer.beta) if layer.center else np.zeros(size)
        statistics = (gamma, beta, ops.convert_to_numpy(layer.moving_mean), ops.convert_to_numpy(layer.moving_variance))
        inputs = [tensor] + [graph.constant("bn", np.asarray(a, np.float32)) for a in statistics]
        return graph.node("BatchNormalization", inputs, epsilon=float(layer.epsilon)), layout, spatial
    if kind == "Activation":
        return apply_activation(graph, tensor, activation_name(layer.activation), layer.name), layout, spatial
    if kind == "ReLU":
        return graph.node("Relu", [tensor]), layout, spatial
    if kind == "Softmax":
        return graph.node("Softmax", [tensor], axis=-1), layout, spatial
    if kind == "Flatten":
        if layout == "NCHW":
            tensor, layout = graph.node("Transpose", [tensor], perm=[0, 2, 3, 1]), "NHWC"
        return graph.node("Flatten", [tensor], axis=1), "flat", spatial
    if kind == "Dense":
        kernel, bias = (layer.get_weights() + [None])[:2]
        tensor = graph.node("MatMul", [tensor, graph.constant("dense_kernel", kernel)])
        if bias is not None and layer.use_bias:
            tensor = graph.node("Add", [tensor, graph.constant("dense_bias", bias)])
        return apply_activation(graph, tensor, activation_name(layer.activation), layer.name), layout, spatial
    raise DigitrecError(f"layer {layer.name!r}: {kind} has no ONNX export here")


def shifted_input(graph, rows, columns, height, width):
    """The NHWC input moved `rows` down and `columns` right by one pixel at most, zeros coming in
    (ensemble.join's ZeroPadding2D then Cropping2D): Pad by one, then Slice."""
    if (rows, columns) == (0, 0):
        return INPUT_NAME
    padded = graph.node("Pad", [INPUT_NAME, graph.constant("pads", np.array([0, 1, 1, 0, 0, 1, 1, 0], np.int64))])
    starts = graph.constant("starts", np.array([1 - rows, 1 - columns], np.int64))
    ends = graph.constant("ends", np.array([1 - rows + height, 1 - columns + width], np.int64))
    return graph.node("Slice", [padded, starts, ends, graph.constant("axes", np.array([1, 2], np.int64))])


def keras_to_onnx(model):
    """An `onnx.ModelProto` computing the same function as the Keras Sequential `model`."""
    import keras
    from onnx import TensorProto, checker, helper

    from .ensemble import is_ensemble, members_of, shifts_of

    if not (isinstance(model, keras.Sequential) or is_ensemble(model)):
        raise DigitrecError(f"model {model.name!r}: only Sequential models and ensembles of them export to ONNX here")
    graph = GraphBuilder()
    height, width, channels = model.input_shape[1:]
    outputs = []
    views = [shifted_input(graph, rows, columns, height, width) for rows, columns in shifts_of(model)]
    for member in members_of(model):  # an ensemble: every member reads the input (at each shift), then their mean
        for view in views:
            tensor, layout, spatial = view, "NHWC", (height, width)
            for layer in member.layers:
                tensor, layout, spatial = convert_layer(graph, layer, tensor, layout, spatial)
            outputs.append(tensor)
    tensor = outputs[0] if len(outputs) == 1 else graph.node("Mean", outputs)
    graph.nodes.append(helper.make_node("Identity", [tensor], [OUTPUT_NAME], name="output"))
    onnx_graph = helper.make_graph(
        graph.nodes,
        model.name,
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, ["batch", height, width, channels])],
        [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, ["batch", model.output_shape[-1]])],
        initializer=graph.initializers,
    )
    onnx_model = helper.make_model(onnx_graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="digitrec")
    onnx_model.ir_version = 8  # readable by every ONNX Runtime since 1.10
    checker.check_model(onnx_model)
    return onnx_model


def convert_graph_layer(graph, layer, inputs):
    """The ONNX node for one layer of a fully convolutional functional model, channels-first
    throughout; its spatial sizes are left to the runtime ("same" padding as SAME_UPPER, which is
    TensorFlow's: the odd pixel of padding goes at the end)."""
    kind = type(layer).__name__
    if kind == "Conv2D":
        kernel, bias = (layer.get_weights() + [None])[:2]
        pointwise = tuple(layer.kernel_size) == (1, 1)
        if layer.data_format != "channels_last" or not (layer.padding == "same" or pointwise) or layer.groups != 1:
            raise DigitrecError(f"layer {layer.name!r}: only channels-last, 'same', ungrouped Conv2D export in a graph")
        node_inputs = [inputs[0], graph.constant("conv_kernel", kernel.transpose(3, 2, 0, 1))]
        if bias is not None and layer.use_bias:
            node_inputs.append(graph.constant("conv_bias", bias))
        tensor = graph.node("Conv", node_inputs, kernel_shape=list(layer.kernel_size), strides=list(layer.strides),
                            dilations=list(layer.dilation_rate), auto_pad="SAME_UPPER")
        name = activation_name(layer.activation)
        return graph.node("Sigmoid", [tensor]) if name == "sigmoid" else apply_activation(graph, tensor, name, layer.name)
    if kind == "MaxPooling2D" and layer.padding == "valid":
        return graph.node("MaxPool", inputs, kernel_shape=list(layer.pool_size), strides=list(layer.strides))
    if kind == "UpSampling2D" and layer.interpolation == "nearest":
        scales = graph.constant("scales", np.array([1, 1, *layer.size], np.float32))
        return graph.node("Resize", [inputs[0], "", scales], mode="nearest", nearest_mode="floor",
                          coordinate_transformation_mode="asymmetric")
    if kind == "Concatenate" and layer.axis in (-1, 3):
        return graph.node("Concat", inputs, axis=1)
    if kind == "Add":
        return graph.node("Sum", inputs)
    raise DigitrecError(f"layer {layer.name!r}: {kind} has no ONNX export in a graph here")


def graph_to_onnx(model):
    """An `onnx.ModelProto` computing the same function as the fully convolutional functional Keras
    `model` (one input (batch, H, W, C) channels-last, any H and W; one output the same way):
    Conv2D, MaxPooling2D, UpSampling2D, Concatenate and Add, transposed to channels-first once
    after the input and back once before the output."""
    from onnx import TensorProto, checker, helper

    graph = GraphBuilder()
    names = {id(model.inputs[0]): graph.node("Transpose", [INPUT_NAME], perm=[0, 3, 1, 2])}
    for layer in model.operations:
        if type(layer).__name__ == "InputLayer":
            continue
        node = layer._inbound_nodes[0]
        names[id(node.output_tensors[0])] = convert_graph_layer(graph, layer, [names[id(t)] for t in node.input_tensors])
    output = graph.node("Transpose", [names[id(model.outputs[0])]], perm=[0, 2, 3, 1])
    graph.nodes.append(helper.make_node("Identity", [output], ["output"], name="output"))
    channels_in, channels_out = model.input_shape[-1], model.output_shape[-1]
    onnx_graph = helper.make_graph(
        graph.nodes,
        model.name,
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, ["batch", "height", "width", channels_in])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", "out_height", "out_width", channels_out])],
        initializer=graph.initializers,
    )
    onnx_model = helper.make_model(onnx_graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="digitrec")
    onnx_model.ir_version = 8
    checker.check_model(onnx_model)
    return onnx_model


def export_onnx(path, out_dir=None, overwrite=False) -> Path:
    """Write `model.onnx` for the model at `path` (run folder, .keras or model.json)."""
    from .saving import ONNX_FILE, load_model, model_folder, refuse_to_replace

    destination = (Path(out_dir) if out_dir is not None else model_folder(path)) / ONNX_FILE
    refuse_to_replace([destination], overwrite, source=path)
    model = load_model(path)
    files.write_bytes(destination, keras_to_onnx(model).SerializeToString())
    return destination
