"""What the commands share: one-line usage errors, number parsers, JSON output, system flags."""

from __future__ import annotations

import argparse
import json
import re

from ..errors import InputError
from ..inputs import parse_density, parse_number

# A value that starts with "-" and is a number or a fraction (-1/900, -1e-3, -.5, -inf): argparse
# only knows -1 and -1.5 as numbers and reads the others as an unknown option ("expected one
# argument"); no option of netsense looks like a number, so these reach the option's parser,
# whose one-line error names the option, the value and the rule.
NEGATIVE_NUMBER = re.compile(r"^-(\d|\.\d)[\d.eE+\-/ ]*$|^-(inf|infinity|nan)$", re.I)


class Parser(argparse.ArgumentParser):
    """argparse that reports a usage error on one line and passes negative numbers and fractions
    to the option that takes them."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = NEGATIVE_NUMBER

    def error(self, message):
        """Print ``prog: error: message`` and exit 2."""
        self.exit(2, f"{self.prog}: error: {message}\n")


def nonnegative(name):
    """An argparse type: a finite float >= 0, with ``name`` in the error."""
    def conv(text):
        try:
            v = parse_number(name, text)
        except InputError as exc:
            raise argparse.ArgumentTypeError(f"got {text!r}; {exc.rule}") from None
        if v < 0:
            raise argparse.ArgumentTypeError(f"got {text!r}; must be >= 0 (0: none)")
        return v
    return conv


def finite(name):
    """An argparse type: a finite float, with ``name`` in the error."""
    def conv(text):
        try:
            return parse_number(name, text)
        except InputError as exc:
            raise argparse.ArgumentTypeError(f"got {text!r}; {exc.rule}") from None
    return conv


def density(text):
    """An argparse type: a density per m^2, also as a fraction like ``1/900``."""
    try:
        return parse_density("density", text)
    except InputError as exc:
        raise argparse.ArgumentTypeError(f"got {text!r}; {exc.rule}") from None


def _json_default(o):
    if hasattr(o, "tolist"):
        return o.tolist()
    raise TypeError(type(o).__name__)


def print_json(obj):
    """Print ``obj`` as indented JSON (numpy values as lists and numbers)."""
    print(json.dumps(obj, indent=2, default=_json_default, allow_nan=True))


def system_from_args(args):
    """The system constants (a ``SystemParams``) given by :func:`add_system_args` flags
    (defaults: Section III)."""
    from ..core.system import SystemParams

    over = {k: getattr(args, k) for k in ("carrier_hz", "bandwidth_hz", "effective_bandwidth_hz",
                                          "rcs_m2") if getattr(args, k, None) is not None}
    return SystemParams(**over)


def add_system_args(p):
    """Flags for the system constants (``--carrier-hz`` ...)."""
    g = p.add_argument_group("system constants (defaults: Section III of the paper)")
    g.add_argument("--carrier-hz", dest="carrier_hz", type=finite("--carrier-hz"),
                   help="carrier frequency f_c [Hz] (default 30e9)")
    g.add_argument("--bandwidth-hz", dest="bandwidth_hz", type=finite("--bandwidth-hz"),
                   help="bandwidth B [Hz] (default 2e9)")
    g.add_argument("--effective-bandwidth-hz", dest="effective_bandwidth_hz",
                   type=finite("--effective-bandwidth-hz"),
                   help="effective bandwidth beta [Hz] (default B/sqrt(12))")
    g.add_argument("--rcs-m2", dest="rcs_m2", type=finite("--rcs-m2"),
                   help="radar cross section sigma [m^2] (default 1)")
