"""Per-node-type dispatch over the AST, after Jinja's ``visitor.py``.

A visitor has one ``visit_<Class>`` method per node class it handles;
:meth:`NodeVisitor.visit` calls the one for the node's class. A node without its
method goes to :meth:`NodeVisitor.generic_visit`: for a :class:`NodeVisitor`
that is an error naming the visitor and the class (a new node class never slips
through a visitor silently), for a :class:`NodeWalker` it visits the node's
children (Jinja's behaviour), so a walker handles only the classes it cares about.

Extra positional and keyword arguments of :meth:`visit` are passed on to the
method (e.g. the units of a formula's parameters while checking its body).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar, cast

from takst.dsl.ast import Node, iter_child_nodes

T = TypeVar("T")


class NodeVisitor(Generic[T]):
    """Dispatches on the class of a node to ``visit_<ClassName>``."""

    def get_visitor(self, node: Node) -> Callable[..., T] | None:
        """The method for ``node``'s class, or None."""
        method = getattr(self, f"visit_{type(node).__name__}", None)
        return cast("Callable[..., T] | None", method)

    def visit(self, node: Node, *args: Any, **kwargs: Any) -> T:
        method = self.get_visitor(node)
        if method is not None:
            return method(node, *args, **kwargs)
        return self.generic_visit(node, *args, **kwargs)

    def generic_visit(self, node: Node, *args: Any, **kwargs: Any) -> T:
        raise TypeError(f"{type(self).__name__} has no visit_{type(node).__name__}")


class NodeWalker(NodeVisitor[None]):
    """A visitor whose nodes without a method of their own are walked into."""

    def generic_visit(self, node: Node, *args: Any, **kwargs: Any) -> None:
        for child in iter_child_nodes(node):
            self.visit(child, *args, **kwargs)
