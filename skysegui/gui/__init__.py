"""PySide6 widgets. Views and editors of core objects; no file-format or ML logic here."""
