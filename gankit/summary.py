"""Plain-text descriptions of networks, for notebooks and notes."""

from __future__ import annotations


def layer_table(model) -> str:
    """One line per layer: name, output shape (batch dimension shown as None), parameters."""
    rows = [("layer", "output shape", "params")]
    for layer in model.layers:
        shape = tuple(layer.output.shape)
        rows.append((layer.name, str(shape), f"{layer.count_params():,}"))
    rows.append(("total", "", f"{model.count_params():,}"))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [f"{a:<{widths[0]}}  {b:<{widths[1]}}  {c:>{widths[2]}}" for a, b, c in rows]
    return "\n".join(lines)
