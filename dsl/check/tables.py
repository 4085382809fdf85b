"""Tables and cases by a dimension: missing or unknown rows and columns, rows of the
wrong width, values covered twice or not at all."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

from takst.dsl import ast
from takst.dsl.errors import Span

if TYPE_CHECKING:
    from takst.dsl.check.context import Context


def check_dimension_keys(
    ctx: Context, dim: ast.Name, keys: list[ast.Name], span: Span, *, allow_others: bool
) -> None:
    """Every value of the dimension is covered by exactly one key (a group covers its
    members; ``others`` covers the rest)."""
    kind = ctx.ref(dim.name, dim.span, "value")
    if kind is None:
        return
    values = ctx.sym.dimension_keys(dim.name)
    if values is None:
        ctx.err(
            f"{dim.name} cannot be a dimension: it is neither bands, a yes/no input, nor a "
            "field with declared categories",
            dim.span,
            hint="declare bands by the input, or `categories customer_type` with its values",
        )
        return
    groups = ctx.sym.dimension_groups(dim.name)
    covered: dict[str, ast.Name] = {}
    others: ast.Name | None = None
    for key in keys:
        if key.name == "others" and allow_others:
            others = key
            continue
        if key.name in groups:
            ctx.used.add(key.name)
            members = groups[key.name]
        elif key.name in values:
            members = (key.name,)
        else:
            ctx.err(
                f"{key.name} is not a value of {dim.name}",
                key.span,
                hint=f"the values of {dim.name} are: {', '.join(values)}"
                + (f"; groups: {', '.join(groups)}" if groups else ""),
            )
            continue
        for m in members:
            if m in covered:
                ctx.err(
                    f"{m} is covered twice: by {covered[m].name} and by {key.name}",
                    key.span,
                    hint="each value of the dimension has one case",
                    related=[(f"{covered[m].name} is here", covered[m].span)],
                )
            covered[m] = key
    missing = [v for v in values if v not in covered]
    if missing and others is None:
        ctx.err(
            f"no case for {dim.name} = {', '.join(missing)}",
            span,
            hint=f"add a line for {'each of them' if len(missing) > 1 else 'it'}, or a line "
            "`others ...` (or `others not offered`)",
        )
    elif others is not None and not missing:
        ctx.warn("`others` covers nothing here: every value has its own case", others.span)


def check_table(ctx: Context, table: ast.Table) -> None:
    if len(table.dims) > 2:
        check_table_multi(ctx, table)
        return
    dims_keys: list[tuple[str, ...]] = []
    for dim in table.dims:
        kind = ctx.ref(dim.name, dim.span, "value")
        if kind is None:
            return
        keys = ctx.sym.dimension_keys(dim.name)
        if keys is None:
            ctx.err(
                f"a table cannot go by {dim.name}: it is neither bands nor a yes/no input",
                dim.span,
                hint="declare bands by the input (bands size by population) and use "
                "`table by size`",
            )
            return
        dims_keys.append(keys)
    row_dim = table.dims[0].name
    col_keys = dims_keys[1] if len(dims_keys) == 2 else None
    width = len(table.columns) if col_keys is not None else 1
    if col_keys is not None:
        col_dim = table.dims[1].name
        seen_cols: set[str] = set()
        for col in table.columns:
            if col.name not in col_keys:
                ctx.err(
                    f"{col.name} is not a value of {col_dim}",
                    col.span,
                    hint=f"the columns of this table are the values of {col_dim}: "
                    + ", ".join(col_keys),
                )
            elif col.name in seen_cols:
                ctx.err(f"column {col.name} is twice in this table", col.span)
            seen_cols.add(col.name)
        for key in col_keys:
            if key not in seen_cols:
                ctx.err(
                    f"this table has no column for {col_dim} = {key}",
                    table.span,
                    hint=f"add {key} to the column line and an amount for it in every row",
                )
    seen_rows: dict[str, ast.TableRow] = {}
    for row in table.rows:
        if row.key.name not in dims_keys[0]:
            ctx.err(
                f"{row.key.name} is not a value of {row_dim}",
                row.key.span,
                hint=f"the rows of this table are: {', '.join(dims_keys[0])}",
            )
        elif row.key.name in seen_rows:
            ctx.err(
                f"row {row.key.name} is twice in this table",
                row.key.span,
                hint="keep one row per value",
                related=[("the first is here", seen_rows[row.key.name].span)],
            )
        seen_rows[row.key.name] = row
        if len(row.cells) != width:
            cols = f" ({', '.join(c.name for c in table.columns)})" if col_keys else ""
            ctx.err(
                f"row {row.key.name} has {len(row.cells)} amount"
                f"{'s' if len(row.cells) != 1 else ''}, but the table has {width} "
                f"column{'s' if width != 1 else ''}{cols}",
                row.span,
                hint="give one amount per column; a cell cannot be left empty",
            )
    for key in dims_keys[0]:
        if key not in seen_rows:
            ctx.err(
                f"this table has no row for {row_dim} = {key}",
                table.span,
                hint=f"add a row:  {key}  " + "  ".join(["<amount>"] * width),
            )


def check_table_multi(ctx: Context, table: ast.Table) -> None:
    """issue 12: a table of three or more dimensions: columns are the values of the last
    dimension; every combination of the others has one row, of one amount per column."""
    dims_keys: list[tuple[str, ...]] = []
    for dim in table.dims:
        if ctx.ref(dim.name, dim.span, "value") is None:
            return
        keys = ctx.sym.dimension_keys(dim.name)
        if keys is None:
            ctx.err(
                f"a table cannot go by {dim.name}: it is neither bands, a yes/no input nor a "
                "field with declared categories", dim.span,
                hint="declare bands by the input (bands size by population) and use them")
            return
        dims_keys.append(keys)
    seen_dims: dict[str, ast.Name] = {}
    for dim in table.dims:
        if dim.name in seen_dims:
            ctx.err(f"this table goes by {dim.name} twice", dim.span,
                    related=[("the first is here", seen_dims[dim.name].span)])
            return
        seen_dims[dim.name] = dim
    last = table.dims[-1].name
    seen_cols: set[str] = set()
    for col in table.columns:
        if col.name not in dims_keys[-1]:
            ctx.err(f"{col.name} is not a value of {last}", col.span,
                    hint=f"the columns of this table are the values of {last}: "
                    + ", ".join(dims_keys[-1]))
        elif col.name in seen_cols:
            ctx.err(f"column {col.name} is twice in this table", col.span)
        seen_cols.add(col.name)
    for key in dims_keys[-1]:
        if key not in seen_cols:
            ctx.err(f"this table has no column for {last} = {key}", table.span,
                    hint=f"add {key} to the column line and an amount for it in every row")
    width = len(table.columns)
    lead = table.dims[:-1]
    seen_rows: dict[tuple[str, ...], ast.TableRow] = {}
    for row in table.rows:
        row_keys = (row.key, *row.more_keys)
        bad = False
        for dim, row_key, allowed in zip(lead, row_keys, dims_keys, strict=False):
            if row_key.name not in allowed:
                ctx.err(f"{row_key.name} is not a value of {dim.name}", row_key.span,
                        hint=f"the values of {dim.name} are: {', '.join(allowed)}")
                bad = True
        combo = tuple(k.name for k in row_keys)
        if not bad and combo in seen_rows:
            ctx.err(f"row {' '.join(combo)} is twice in this table", row.span,
                    hint="keep one row per combination",
                    related=[("the first is here", seen_rows[combo].span)])
        seen_rows[combo] = row
        if len(row.cells) != width:
            ctx.err(f"row {' '.join(combo)} has {len(row.cells)} amount"
                    f"{'s' if len(row.cells) != 1 else ''}, but the table has {width} "
                    f"column{'s' if width != 1 else ''} ({', '.join(c.name for c in table.columns)})",
                    row.span, hint="give one amount per column; a cell cannot be left empty")
    missing = [combo for combo in itertools.product(*dims_keys[:-1]) if combo not in seen_rows]
    for combo in missing[:5]:
        where = ", ".join(f"{d.name} = {k}" for d, k in zip(lead, combo, strict=True))
        ctx.err(f"this table has no row for {where}", table.span,
                hint=f"add a row:  {'  '.join(combo)}  " + "  ".join(["<amount>"] * width))
    if len(missing) > 5:
        ctx.err(f"this table misses {len(missing) - 5} more rows", table.span,
                hint="every combination of the row dimensions needs a row")
