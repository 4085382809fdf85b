"""The compiler's SQL in other dialects: DuckDB's SQL transpiled with SQLGlot, and rewritten
where a plain transpile would change the meaning.

The compiler writes DuckDB SQL (:mod:`takst.interpreter.batch.compiler`). For Apache Spark
SQL, :func:`to_spark` parses it with SQLGlot (``read="duckdb"``), rewrites what Spark does
differently, checks the result, and writes it back (``write="spark"``):

* ``HUGEINT`` (128-bit integers) becomes ``DECIMAL(38,0)``. Spark has no wider exact type;
  with ``spark.sql.ansi.enabled=true`` (the engine sets it) an overflow raises, never a
  NULL or a wrapped number. The range is smaller than DuckDB's (10**38 - 1 against about
  1.7 * 10**38): a literal past it does not compile for Spark (:class:`TooWide`), and a
  value past it at run time is an error.
* Integer division ``a // b``: Spark's ``DIV`` answers a 64-bit ``BIGINT`` and its ``/``
  on decimals rounds (``10/3`` is ``3.333333``), so ``a // b`` becomes
  ``CAST((a - a % b) / b AS DECIMAL(38,0))``: the dividend less its remainder divides
  exactly, so the decimal division has nothing to round (its result, ``DECIMAL(38,6)``,
  holds a quotient of up to 32 digits; a larger one raises). Both sides are cast to
  ``DECIMAL(38,0)`` first, so an integer never meets ``/`` (Spark's ``INT / INT`` is a
  ``DOUBLE``).
* ``sign(x)`` answers a ``DOUBLE`` in Spark: it becomes a ``CASE`` of ``-1``, ``0``, ``1``.
* ``error(message)`` becomes ``raise_error(message)``.
* ``date_diff('day', a, b)`` becomes Spark's two-argument ``datediff(b, a)`` (days between
  two dates, no time zone involved).

:func:`check_exact` then refuses any ``DOUBLE``/``FLOAT`` type, floating literal, or a
division that is not one of those rewrites: no double ever touches an amount.
"""

from __future__ import annotations

from typing import Any

#: The widest exact integer of the Spark plan: DECIMAL(38,0).
SPARK_MAX = 10**38 - 1

#: The name the customer relation's placeholder takes while SQLGlot reads the query.
_SRC = "takst_src_placeholder"

DIALECTS = ("duckdb", "spark")


class TooWide(Exception):
    """A literal the dialect's exact integers cannot hold."""

    def __init__(self, number: str) -> None:
        super().__init__(number)
        self.number = number


class NotExact(AssertionError):
    """The transpiled SQL would compute with a floating-point type (a bug of the rewrite)."""


def _sqlglot() -> Any:
    try:
        import sqlglot
    except ImportError as err:  # pragma: no cover - depends on the install
        raise ImportError("the Spark dialect needs SQLGlot: pip install 'takst[spark]'") from err
    return sqlglot


def _dec(exp: Any, node: Any) -> Any:
    return exp.Cast(this=node, to=exp.DataType.build("DECIMAL(38,0)"))


def _rewrite(exp: Any) -> Any:
    def kid(node: Any) -> Any:
        """A child of a node replaced by a new one: rewritten in turn (``transform`` does
        not enter the nodes a visit returns)."""
        return node.transform(visit)

    def visit(node: Any) -> Any:
        if isinstance(node, exp.DataType) and node.this in (
                exp.DataType.Type.INT128, exp.DataType.Type.UINT128):
            return exp.DataType.build("DECIMAL(38,0)")
        if isinstance(node, exp.Literal) and not node.is_string:
            text = node.this
            digits = text.lstrip("-").split(".")[0]
            if "e" in text.lower():
                raise NotExact(f"a floating-point literal {text}")
            if len(digits) > 38:
                raise TooWide(text)
            return node
        if isinstance(node, exp.IntDiv):
            a = _dec(exp, kid(node.this))
            b = _dec(exp, kid(node.expression))
            rest = exp.Paren(this=exp.Sub(this=a.copy(), expression=exp.Mod(
                this=a.copy(), expression=b.copy())))
            div = exp.Div(this=rest, expression=b.copy(), typed=False, safe=False)
            div.meta["takst_exact"] = True
            return _dec(exp, div)
        if isinstance(node, exp.Sign):
            x = kid(node.this)
            return exp.Case(ifs=[
                exp.If(this=exp.LT(this=x.copy(), expression=exp.Literal.number(0)),
                       true=exp.Literal.number(-1)),
                exp.If(this=exp.GT(this=x.copy(), expression=exp.Literal.number(0)),
                       true=exp.Literal.number(1))],
                default=exp.Literal.number(0))
        if isinstance(node, exp.Anonymous) and str(node.this).lower() == "error":
            return exp.Anonymous(this="raise_error",
                                 expressions=[kid(e) for e in node.expressions])
        if isinstance(node, exp.DateDiff):
            unit = node.args.get("unit")
            if unit is None or unit.name.upper() not in ("DAY", "'DAY'"):
                raise NotExact(f"date_diff by {unit}")
            # DuckDB's date_diff(unit, start, end) reads as this=end, expression=start
            return exp.Anonymous(this="datediff",
                                 expressions=[kid(node.this), kid(node.expression)])
        return node

    return visit


def check_exact(tree: Any) -> None:
    """Refuse a floating-point type, literal or an unrewritten division in ``tree``."""
    sqlglot = _sqlglot()
    exp = sqlglot.exp
    floats = (exp.DataType.Type.DOUBLE, exp.DataType.Type.FLOAT)
    for node in tree.walk():
        if isinstance(node, exp.DataType) and node.this in floats:
            raise NotExact(f"a {node.sql()} type")
        if isinstance(node, exp.Div) and not node.meta.get("takst_exact"):
            raise NotExact(f"a division {node.sql(dialect='spark')[:80]}")
        if isinstance(node, exp.Anonymous) and str(node.this).lower() in ("sign", "signum"):
            raise NotExact("sign(), a DOUBLE in Spark")


def to_spark(sql: str, *, pretty: bool = False) -> str:
    """DuckDB SQL of the compiler as Spark SQL (``{src}`` kept as the relation's place).

    Raises :class:`TooWide` for a literal past ``DECIMAL(38,0)``."""
    sqlglot = _sqlglot()
    exp = sqlglot.exp
    source = sql.replace("{src}", _SRC)
    trees = sqlglot.parse(source, read="duckdb")
    out = []
    for tree in trees:
        if tree is None:
            continue
        for node in tree.walk():
            if isinstance(node, exp.Div):
                raise NotExact("the compiler wrote a division; it must write `//`")
        new = tree.transform(_rewrite(exp))
        check_exact(new)
        for node in new.walk():
            if isinstance(node, exp.DataType) and node.this == exp.DataType.Type.INT128:
                raise NotExact("a HUGEINT left in the Spark SQL")
        out.append(new.sql(dialect="spark", pretty=pretty))
    return ";\n".join(out).replace(_SRC, "{src}")


def pretty_duckdb(sql: str) -> str:
    """The compiler's DuckDB SQL, indented for reading (the same query)."""
    sqlglot = _sqlglot()
    source = sql.replace("{src}", _SRC)
    return ";\n".join(t.sql(dialect="duckdb", pretty=True)
                      for t in sqlglot.parse(source, read="duckdb") if t is not None
                      ).replace(_SRC, "{src}")
