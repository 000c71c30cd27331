"""SkySeg GUI: sky masks for 360-degree HDR panoramas."""

__version__ = "0.1.0"
