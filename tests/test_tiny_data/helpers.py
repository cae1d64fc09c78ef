"""Helpers of the tiny data-set tests."""
import hashlib
import os
import os.path as osp

import numpy as np


def tree_digest(root):
    digest = hashlib.sha256()
    for dirpath, _, files in sorted(os.walk(root)):
        for name in sorted(files):
            path = osp.join(dirpath, name)
            digest.update(osp.relpath(path, root).encode())
            with open(path, 'rb') as f:
                digest.update(f.read())
    return digest.hexdigest()


def colour_mask(img, colour, tol=45):
    return (np.abs(img.astype(np.int32) - np.asarray(colour)).max(-1) <= tol)
