"""What ops an exported SavedModel holds, read from `saved_model.pb` alone.

A serving graph must not touch the file system nor call back into Python:
`ReadFile` / `WriteFile` would read or write files on the server, and the
`PyFunc` family cannot run at all in TensorFlow Serving (there is no Python
there). The walk covers every meta graph's top-level nodes and every function
of its library, which is where `tf.function` bodies (and the bodies of
`tf.map_fn` / `tf.cond` inside them) are stored.
"""

import os

FORBIDDEN_OPS = frozenset({"ReadFile", "WriteFile", "PyFunc", "PyFuncStateless", "EagerPyFunc"})


def saved_model_op_types(path):
    """Op types used anywhere in a SavedModel, without loading it.

    Args:
        path: the SavedModel directory (holding `saved_model.pb`).

    Returns:
        dict op type -> sorted list of the places it occurs
        (`"graph"` or `"function:<name>"`).
    """
    from tensorflow.core.protobuf import saved_model_pb2

    proto = saved_model_pb2.SavedModel()
    with open(os.path.join(os.fspath(path), "saved_model.pb"), "rb") as f:
        proto.ParseFromString(f.read())
    places = {}
    for meta_graph in proto.meta_graphs:
        graph_def = meta_graph.graph_def
        for node in graph_def.node:
            places.setdefault(node.op, set()).add("graph")
        for function in graph_def.library.function:
            for node in function.node_def:
                places.setdefault(node.op, set()).add(f"function:{function.signature.name}")
    return {op: sorted(where) for op, where in places.items()}


def forbidden_ops(path, forbidden=FORBIDDEN_OPS):
    """The forbidden ops a SavedModel holds: dict op type -> places (empty when clean).

    Args:
        path: the SavedModel directory.
        forbidden: op types to look for (default: file I/O and Python callbacks).

    Returns:
        dict op type -> sorted list of places, for the forbidden ops found.
    """
    return {op: where for op, where in saved_model_op_types(path).items() if op in forbidden}
