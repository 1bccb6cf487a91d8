"""A small, safe expression language for derived values, dynamic ranges and availability.

Expressions are Python syntax restricted to arithmetic, comparisons, boolean logic, conditional
expressions, tuples, dict literals and subscripts. Names are feature names; an enumeration
evaluates to its entry name (``LineMode == 'Output'``); ``Feature['Entry']`` reads the instance
of a selected feature for that selector entry. Nothing else (calls, attributes) is allowed, so
a table can never run code in the device.
"""

from __future__ import annotations

import ast
import operator
from functools import lru_cache
from typing import Callable

Lookup = Callable[[str, "str | None"], object]

_BINARY = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.FloorDiv: operator.floordiv, ast.Div: operator.truediv, ast.Mod: operator.mod,
    ast.BitAnd: operator.and_, ast.BitOr: operator.or_, ast.LShift: operator.lshift,
    ast.RShift: operator.rshift,
}
_UNARY = {ast.USub: operator.neg, ast.Not: operator.not_, ast.UAdd: operator.pos}
_COMPARE = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Gt: operator.gt, ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b,
}


class ExpressionError(ValueError):
    pass


@lru_cache(maxsize=None)
def parse(source: str) -> ast.expr:
    tree = ast.parse(source, mode="eval").body
    for node in ast.walk(tree):
        if isinstance(node, (ast.Call, ast.Attribute, ast.Lambda, ast.NamedExpr,
                             ast.ListComp, ast.DictComp, ast.SetComp, ast.GeneratorExp)):
            raise ExpressionError(f"not allowed in a feature expression: {source!r}")
    return tree


def evaluate(source: str, lookup: Lookup) -> object:
    return _eval(parse(source), lookup)


def _eval(node: ast.expr, lookup: Lookup) -> object:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return lookup(node.id, None)
    if isinstance(node, ast.Subscript):
        if isinstance(node.value, ast.Name) and isinstance(node.slice, ast.Constant):
            return lookup(node.value.id, node.slice.value)
        return _eval(node.value, lookup)[_eval(node.slice, lookup)]
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        return _BINARY[type(node.op)](_eval(node.left, lookup), _eval(node.right, lookup))
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_eval(node.operand, lookup))
    if isinstance(node, ast.BoolOp):
        values = (_eval(v, lookup) for v in node.values)
        return all(values) if isinstance(node.op, ast.And) else any(values)
    if isinstance(node, ast.Compare):
        left = _eval(node.left, lookup)
        for op, comparator in zip(node.ops, node.comparators):
            right = _eval(comparator, lookup)
            if type(op) not in _COMPARE or not _COMPARE[type(op)](left, right):
                return False
            left = right
        return True
    if isinstance(node, ast.IfExp):
        return _eval(node.body if _eval(node.test, lookup) else node.orelse, lookup)
    if isinstance(node, ast.Tuple):
        return tuple(_eval(e, lookup) for e in node.elts)
    if isinstance(node, ast.Dict):
        return {_eval(k, lookup): _eval(v, lookup) for k, v in zip(node.keys, node.values)}
    raise ExpressionError(f"unsupported expression element {ast.dump(node)}")
