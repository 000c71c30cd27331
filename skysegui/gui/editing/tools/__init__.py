"""Editing tools: select, draw polygon, hole, object, brush, eraser."""
