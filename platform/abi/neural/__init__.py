"""Neural networks on the compute layer: layers, training, inference, text embedders."""
