"""The image viewer: a QGraphicsView whose scene coordinates are full-resolution pixels."""
