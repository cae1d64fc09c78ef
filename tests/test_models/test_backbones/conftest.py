"""Backbone tests run single-threaded: the models are small at these input sizes and
intra-op threads only contend with each other on a shared CPU (10x slower measured)."""
import torch

torch.set_num_threads(1)
