"""The compatibility matrix: data in `compat_matrix/`, typed and looked up here."""

from ftdoctor.matrix.load import load_matrix
from ftdoctor.matrix.model import Matrix, cc_tuple

__all__ = ["Matrix", "cc_tuple", "load_matrix"]
