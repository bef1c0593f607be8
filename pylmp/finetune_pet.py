"""placeholder"""
from pylmp.errors import PylmpError


def check(cfg):
    raise PylmpError("pet: not ready")
