"""Receptive fields, parameter and multiply-add counts of a convolutional network.

Both functions walk a built Keras model layer by layer (descending into mmcnn
blocks and nested `keras.Sequential` models, see `mmcnn.inspect.walk`) and
return a pandas DataFrame with one row per primitive layer. Per-axis values are
tuples, one entry per spatial axis (height, width for images; time for audio
frames and text tokens).

Receptive-field arithmetic follows Dumoulin & Visin (2016): a layer with window
`k` (dilated: `k_eff = d * (k - 1) + 1`), stride `s` and `p` cells of padding
before the input maps an input field `(size, jump, start)` to
`size + (k_eff - 1) * jump`, `jump * s` and `start + ((k_eff - 1) / 2 - p) * jump`.
`start` is the centre of the first output unit's field in input index
coordinates (it may be negative where padding is involved).

The modules: `fields` (that arithmetic, one layer at a time), `tables` (the
per-layer tables: `receptive_field`, `summary`, `total_macs`) and `walk` (the
layer walk that `mmcnn.report` shares).
"""

from mmcnn.inspect.tables import receptive_field, summary, total_macs

__all__ = ["receptive_field", "summary", "total_macs"]
